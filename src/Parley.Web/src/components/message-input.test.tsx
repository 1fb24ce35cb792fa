import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { MessageInput } from './message-input';

function Harness({ onSend, streaming = false, onStop = () => {} }: { onSend: (text: string) => void; streaming?: boolean; onStop?: () => void }) {
  const [value, setValue] = useState('');
  return <MessageInput value={value} onChange={setValue} onSend={onSend} onStop={onStop} streaming={streaming} />;
}

describe('MessageInput', () => {
  it('sends on Enter', async () => {
    const onSend = vi.fn();
    const user = userEvent.setup();
    render(<Harness onSend={onSend} />);
    await user.type(screen.getByTestId('message-input'), 'hello{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('hello');
  });

  it('inserts a newline on Shift+Enter instead of sending', async () => {
    const onSend = vi.fn();
    const user = userEvent.setup();
    render(<Harness onSend={onSend} />);
    const input = screen.getByTestId('message-input');
    await user.type(input, 'line one{Shift>}{Enter}{/Shift}line two');
    expect(onSend).not.toHaveBeenCalled();
    expect(input).toHaveValue('line one\nline two');
    await user.type(input, '{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('line one\nline two');
  });

  it('does not send blank text', async () => {
    const onSend = vi.fn();
    const user = userEvent.setup();
    render(<Harness onSend={onSend} />);
    await user.type(screen.getByTestId('message-input'), '   {Enter}');
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByTestId('send')).toBeDisabled();
  });

  it('sends with the button, which is labelled', async () => {
    const onSend = vi.fn();
    const user = userEvent.setup();
    render(<Harness onSend={onSend} />);
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'hi');
    await user.click(screen.getByRole('button', { name: 'Send message' }));
    expect(onSend).toHaveBeenCalledExactlyOnceWith('hi');
  });

  it('shows Stop instead of Send while streaming, and Enter does not send', async () => {
    const onSend = vi.fn();
    const onStop = vi.fn();
    const user = userEvent.setup();
    render(<Harness onSend={onSend} onStop={onStop} streaming />);
    expect(screen.queryByTestId('send')).toBeNull();
    await user.type(screen.getByTestId('message-input'), 'next{Enter}');
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByTestId('message-input')).toHaveValue('next');
    await user.click(screen.getByTestId('stop'));
    expect(onStop).toHaveBeenCalledOnce();
  });
});
