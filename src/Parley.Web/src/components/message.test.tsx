import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { msg } from '../test/fake-fetch';
import { Message } from './message';

describe('Message', () => {
  it('renders assistant content as GitHub-flavoured markdown', async () => {
    const content = [
      '# Title',
      '',
      'Some **bold** and `code`.',
      '',
      '- one',
      '- two',
      '',
      '| a | b |',
      '|---|---|',
      '| 1 | 2 |',
      '',
      '~~gone~~ and https://example.com',
      '',
      '```',
      'const x = 1;',
      '```',
    ].join('\n');
    const { container } = render(<Message message={msg({ role: 'assistant', content })} />);
    const article = screen.getByTestId('message');
    expect(article).toHaveAttribute('data-role', 'assistant');
    // Headings sit under the page's h1: # Title is an h3.
    expect(await screen.findByRole('heading', { level: 3, name: 'Title' })).toBeInTheDocument();
    expect(container.querySelector('strong')).toHaveTextContent('bold');
    expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['one', 'two']);
    expect(screen.getByRole('table')).toHaveTextContent('ab12');
    expect(container.querySelector('del')).toHaveTextContent('gone');
    expect(container.querySelector('pre code')).toHaveTextContent('const x = 1;');
    const link = screen.getByRole('link', { name: 'https://example.com' });
    expect(link).toHaveAttribute('href', 'https://example.com');
    expect(link).toHaveAttribute('target', '_blank');
    expect(link.getAttribute('rel')).toContain('noopener');
  });

  it('shows raw HTML as text and script URLs as plain text, never as elements', async () => {
    const content =
      'Hi <img src=x onerror="alert(1)"> <script>alert(2)</script> <b>raw</b>\n\n[click](javascript:alert(3)) ![pic](javascript:alert(4))';
    const { container } = render(<Message message={msg({ role: 'assistant', content })} />);
    await waitFor(() => expect(container.querySelector('.markdown')).not.toBeNull());
    expect(container.querySelector('img, script, b, a')).toBeNull();
    expect(container.querySelector('.markdown p')?.textContent).toBe(
      'Hi <img src=x onerror="alert(1)"> <script>alert(2)</script> <b>raw</b>',
    );
    expect(screen.getByText('click')).toHaveAttribute('data-blocked', 'link');
    expect(screen.getByText('pic')).toHaveAttribute('data-blocked', 'image');
  });

  it('renders user content as plain text with whitespace kept', () => {
    const content = '**not bold**\n  <b>not html</b>\n\nlast line';
    const { container } = render(<Message message={msg({ role: 'user', content })} />);
    const article = screen.getByTestId('message');
    expect(article).toHaveAttribute('data-role', 'user');
    expect(container.querySelector('strong, b')).toBeNull();
    const bubble = article.querySelector('.whitespace-pre-wrap');
    expect(bubble?.textContent).toBe(content);
  });

  it('shows a typing indicator for an empty pending reply and labels stopped replies', async () => {
    const { rerender } = render(<Message message={msg({ role: 'assistant', content: '', status: 'pending' })} />);
    expect(screen.getByRole('status', { name: 'Assistant is replying' })).toBeInTheDocument();
    rerender(<Message message={msg({ role: 'assistant', content: 'partial', status: 'cancelled' })} />);
    await waitFor(() => expect(screen.getByTestId('message').querySelector('.markdown')).not.toBeNull());
    expect(screen.queryByRole('status')).toBeNull();
    expect(screen.getByTestId('message')).toHaveTextContent('partialStopped');
  });

  it('shows the tokens and model of a reply, and says when it was cut at the length limit', () => {
    render(
      <Message
        message={msg({
          role: 'assistant',
          content: 'Partial',
          model: 'gpt-4o-mini',
          finishReason: 'length',
          usage: { promptTokens: 12, completionTokens: 30 },
        })}
      />,
    );
    expect(screen.getByTestId('usage')).toHaveTextContent('42 tokens · gpt-4o-mini');
    expect(screen.getByText('Cut off at the reply length limit')).toBeInTheDocument();
  });
});

describe('Message versions and edits', () => {
  it('shows "< 2/3 >" for a message with siblings and switches to the neighbours', async () => {
    const picked: string[] = [];
    const message = msg({ id: 'b', role: 'assistant', content: 'second', siblingIds: ['a', 'b', 'c'] });
    render(<Message message={message} onSwitch={(id) => picked.push(id)} />);

    expect(screen.getByTestId('version-label')).toHaveTextContent('2/3');
    screen.getByTestId('previous-version').click();
    screen.getByTestId('next-version').click();
    expect(picked).toEqual(['a', 'c']);
  });

  it('shows no picker for a message without siblings', () => {
    render(<Message message={msg({ id: 'a', role: 'user', content: 'only', siblingIds: ['a'] })} onSwitch={() => undefined} />);
    expect(screen.queryByTestId('version-picker')).toBeNull();
  });

  it('edits a user message in place and sends the new text', async () => {
    const user = userEvent.setup();
    const edits: string[] = [];
    const message = msg({ id: 'u', role: 'user', content: 'old text' });
    render(<Message message={message} onEdit={(_, content) => edits.push(content)} />);

    await user.click(screen.getByTestId('edit-message'));
    const input = screen.getByTestId('edit-message-input');
    expect(input).toHaveValue('old text');
    await user.clear(input);
    await user.type(input, 'new text{Enter}');

    expect(edits).toEqual(['new text']);
    await waitFor(() => expect(screen.queryByTestId('edit-message-input')).toBeNull());
  });

  it('offers regenerate on the last reply only', () => {
    const reply = msg({ id: 'r', role: 'assistant', content: 'reply' });
    const { rerender } = render(<Message message={reply} onRegenerate={() => undefined} last={false} />);
    expect(screen.queryByTestId('regenerate')).toBeNull();
    rerender(<Message message={reply} onRegenerate={() => undefined} last />);
    expect(screen.getByTestId('regenerate')).toBeInTheDocument();
  });
});
