/** One won order as the buy script appended it to the event's stream. */
export interface StreamOrder {
  /** Stream entry id, `<ms>-<seq>`: its time part is when Redis granted the order. */
  readonly id: string;
  readonly orderNo: number;
  readonly user: string;
  readonly created: Date;
}

type RawEntry = [id: string, fields: string[]];

/** Entries of XREADGROUP / XAUTOCLAIM → orders; entries already deleted come back with no fields and are skipped. */
export function parseEntries(entries: readonly RawEntry[] | null | undefined): StreamOrder[] {
  const out: StreamOrder[] = [];
  for (const entry of entries ?? []) {
    const [id, fields] = entry;
    if (!fields || fields.length < 4) continue;
    let orderNo = 0;
    let user = '';
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'o') orderNo = Number(fields[i + 1]);
      else if (fields[i] === 'u') user = fields[i + 1] ?? '';
    }
    out.push({ id, orderNo, user, created: new Date(Number(id.slice(0, id.indexOf('-')))) });
  }
  return out;
}
