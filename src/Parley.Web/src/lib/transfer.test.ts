import { describe, expect, it } from 'vitest';
import { shareIdFromPath } from './shares';
import { filenameFromContentDisposition } from './transfer';

describe('filenameFromContentDisposition', () => {
  it('prefers the UTF-8 filename* over filename', () => {
    expect(filenameFromContentDisposition("attachment; filename=parley-1.md; filename*=UTF-8''parley-1.md")).toBe('parley-1.md');
    expect(filenameFromContentDisposition("attachment; filename=\"x.json\"; filename*=UTF-8''r%C3%A9sum%C3%A9.json")).toBe('résumé.json');
  });

  it('reads a quoted or bare filename', () => {
    expect(filenameFromContentDisposition('attachment; filename="my \\"chat\\".md"')).toBe('my "chat".md');
    expect(filenameFromContentDisposition('attachment; filename=parley-export.json')).toBe('parley-export.json');
  });

  it('drops path separators and answers null without a name', () => {
    expect(filenameFromContentDisposition('attachment; filename="../../etc/passwd"')).toBe('.._.._etc_passwd');
    expect(filenameFromContentDisposition('attachment')).toBeNull();
    expect(filenameFromContentDisposition(null)).toBeNull();
  });
});

describe('shareIdFromPath', () => {
  it('reads /s/{id} and nothing else', () => {
    expect(shareIdFromPath('/s/AbC-_123xyzAbC-_123xyzAb')).toBe('AbC-_123xyzAbC-_123xyzAb');
    expect(shareIdFromPath('/s/abc/')).toBe('abc');
    expect(shareIdFromPath('/s/')).toBeNull();
    expect(shareIdFromPath('/c/abc')).toBeNull();
    expect(shareIdFromPath('/s/a/b')).toBeNull();
  });
});
