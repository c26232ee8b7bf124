import type { Notice, Notifier } from '../../ports/notifier.js';

/**
 * The sandbox notifier: records every notice in this process's memory, by
 * person (hashed), for `GET /local/notifications`. Nothing leaves the machine.
 * One instance per process: the local server's handlers and its local routes
 * share it.
 */
const sent = new Map<string, Notice[]>();

export const sandboxNotifier: Notifier = {
  send(notice: Notice) {
    sent.set(notice.personHash, [...(sent.get(notice.personHash) ?? []), notice]);
    return Promise.resolve();
  },
};

/** What the sandbox notifier sent to a person, oldest first. */
export function sandboxNotices(personHash: string): readonly Notice[] {
  return sent.get(personHash) ?? [];
}
