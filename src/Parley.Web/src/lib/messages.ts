import type { Message } from './types';

/** Ids of messages shown before the server stored them (keyed by the send's clientMessageId). */
export const LOCAL_PREFIX = 'local:';

export function isLocalMessage(message: Pick<Message, 'id'>): boolean {
  return message.id.startsWith(LOCAL_PREFIX);
}

/** Stored messages from both lists, by id (incoming wins), in sequence order; local placeholders are dropped. */
export function mergeMessages(existing: Message[], incoming: Message[]): Message[] {
  const byId = new Map<string, Message>();
  for (const message of existing) if (!isLocalMessage(message)) byId.set(message.id, message);
  for (const message of incoming) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.sequence - b.sequence);
}
