import fs from 'node:fs';
import { log } from '../log';

/** How often the file's modification time is checked. */
const POLL_MS = 1_000;

/** User ids, one per line; blank lines and `#` comments are skipped. */
export function parseBlocklist(text: string): Set<string> {
  const users = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const id = line.replace(/#.*/, '').trim();
    if (id !== '') users.add(id);
  }
  return users;
}

/**
 * The optional blocklist (SECKILL_BLOCKLIST): a file of user ids whose buys
 * are answered 8 (unauthorized) before anything else is looked at. Read at
 * start (a missing or unreadable file stops the start); after that it is
 * polled and reloaded within about a second of a change, including a
 * replace-by-rename as editors and config management do it. A reload that
 * fails keeps the previous list and logs why.
 */
export class Blocklist {
  private users: Set<string>;
  private readonly onChange = (cur: fs.Stats, prev: fs.Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
    this.reload();
  };

  constructor(readonly file: string) {
    try {
      this.users = parseBlocklist(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`SECKILL_BLOCKLIST: cannot read ${file}: ${(err as Error).message}`);
    }
    fs.watchFile(file, { interval: POLL_MS, persistent: false }, this.onChange);
  }

  has(user: string): boolean {
    return this.users.has(user);
  }

  private reload(): void {
    try {
      this.users = parseBlocklist(fs.readFileSync(this.file, 'utf8'));
      log.info({ file: this.file, users: this.users.size }, 'blocklist reloaded');
    } catch (err) {
      log.warn({ file: this.file, err: (err as Error).message }, 'blocklist reload failed: keeping the previous list');
    }
  }

  close(): void {
    fs.unwatchFile(this.file, this.onChange);
  }
}
