import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { msg } from '../test/fake-fetch';
import { Message } from './message';
import { SourceChips } from './source-chips';

describe('SourceChips', () => {
  it('shows one chip per source as "title #part", numbered from 1', () => {
    render(
      <SourceChips
        sources={[
          { documentId: 'd1', title: 'Field notes', chunkIndex: 1 },
          { documentId: 'd2', title: 'Guide.md', chunkIndex: 0 },
        ]}
      />,
    );
    expect(screen.getAllByTestId('source-chip').map((chip) => chip.textContent)).toEqual(['Field notes #2', 'Guide.md #1']);
    expect(screen.getByRole('list', { name: 'Sources from your documents' })).toBeInTheDocument();
  });

  it('renders nothing without sources', () => {
    const { container } = render(<SourceChips sources={null} />);
    expect(container).toBeEmptyDOMElement();
  });

  it('appears under an assistant message that has sources', () => {
    render(
      <Message
        message={msg({ role: 'assistant', content: 'It is blue.', sources: [{ documentId: 'd1', title: 'Notes', chunkIndex: 0 }] })}
      />,
    );
    expect(screen.getByTestId('source-chip')).toHaveTextContent('Notes #1');
  });
});
