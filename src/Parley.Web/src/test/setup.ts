import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

// findBy*/waitFor give up after 1 s by default; on a loaded 2-core CI machine the lazily loaded markdown chunk can take
// longer than that to import. The wait ends as soon as the condition holds, so a longer ceiling costs nothing.
configure({ asyncUtilTimeout: 10_000 });

afterEach(() => {
  cleanup();
  globalThis.localStorage?.clear();
});
