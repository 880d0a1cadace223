import { flagName, SETTINGS } from '../config';

function serveFlags(): string {
  const rows = SETTINGS.map((s) => {
    const value = s.kind === 'int' ? 'N' : s.kind === 'bool' ? 'BOOL' : 'S';
    const shown = s.value === '' ? '' : ` (default ${s.key === 'dataDir' ? './.data' : String(s.value)})`;
    return [`  ${flagName(s.env)} ${value}`, `${s.help}${shown} [${s.env}]`];
  });
  const width = Math.max(...rows.map(([f]) => (f ?? '').length)) + 2;
  return rows.map(([f, h]) => (f ?? '').padEnd(width) + h).join('\n');
}

export const HELP: Readonly<Record<string, () => string>> = Object.freeze({
  main: () => `usage: seckill <command> [options]

commands:
  serve [--demo] [flags]       run the server (the default command)
  token --user ID [--ttl 24h]  mint a buyer JWT
  event put ID [--stock N] [--start T] [--end T] [--name S] [--pay-within D] [--pow P]
                               create an event, or change the fields given
  event list                   every event, with its state and units left
  event get ID                 one event's stats
  event pause|resume ID        stop deciding units (every buy answers 16), or sell again
  draw verify ID [--user U]    recompute a decided draw at the opening from its seed
  persister                    move orders from the Redis streams to MySQL (standalone)
  reconcile [EVENT...] [--repair]
                               compare Redis and MySQL; exit 1 on any mismatch

  seckill <command> --help     the command's options
  seckill --version            the version`,
  serve: () => `usage: seckill serve [--demo] [flags]

Runs the server. Every setting can be given as an environment variable or as
a flag (the flag wins); a bad value stops the start and names the variable.

  --demo   the npm start demo: make secrets if none are set (kept in the data
           folder), create the sale "demo", print a curl line to buy

${serveFlags()}`,
  token: () => `usage: seckill token --user ID [--ttl DURATION | --ttl none]

Mints an HS256 buyer token signed with SECKILL_JWT_SECRET (or the demo's).

  --user ID        the user id (the token's sub), 1 to 128 characters
  --ttl DURATION   lifetime, with its unit: 90s, 15m, 1h, 1h30m, 2d (default 24h);
                   a bare number is refused
  --ttl none       no exp claim: the token never expires`,
  event: () => `usage: seckill event <put|list|get|pause|resume> ... [--url URL]

Events, through the running server's admin API (SECKILL_ADMIN_TOKEN, or the
demo's; the server at http://127.0.0.1:$PORT unless --url says otherwise).

  event put ID [--stock N] [--start T] [--end T] [--name S] [--pay-within D] [--pow P]
               create the event, or change the fields given
  event list [--json]
               every event: state (scheduled, open, sold out, ended), stock,
               units left, window
  event get ID the event's stats (GET /admin/events/ID)
  event pause ID, event resume ID
               the pause switch: while paused no unit is decided and every
               buy answers 16, on every server; resume sells again

  seckill event put --help   the options of put, and the forms of T and D`,
  'event put': () => `usage: seckill event put ID [--stock N] [--start T] [--end T] [--name S] [--pay-within D] [--pow P] [--draw D]
                       [--limit N] [--skus ID=N,ID=N] [--url URL]

Creates the event ID, or changes it through the running server's admin API
(SECKILL_ADMIN_TOKEN, or the demo's). A change keeps every field it is not
given (the current event is read first); a new event needs --stock and --end
(--start defaults to now). Once the sale has buyers it cannot be changed; until
then it can, even after its start (to correct a mistake).

  --stock N    units for sale
  --start T    now, +10m (from now), an ISO-8601 time with its offset
               (2026-12-04T10:00:00Z, 2026-12-04T10:00:00+08:00), or epoch ms;
               more than a minute in the past is refused (use now)
  --end T      the same forms; +1h is an hour from now
  --name S     a display name
  --pay-within D
               how long a winner has to pay (900s, 15m, 1h); unpaid orders
               then expire and their units go back on sale; 0: a win is final
  --pow P      proof of work (ALTCHA) before each buy: a cost (5000), or
               cost=N,counter=MIN-MAX,algorithm=A (default counter 5000-10000,
               algorithm PBKDF2/SHA-256); off: none
  --draw D     a draw at the opening (at most 10s): every buy in the first D
               after the start enters a draw decided at its close (see seckill
               draw verify), each entrant its q within --limit; not with
               --skus; 0: first come, first served from the start
  --limit N    units one user may hold, over all their orders (1-100; default 1):
               a buy then asks ?q=N units
  --skus ID=N,ID=N
               SKUs and each one's stock (red=500,blue=300); the stock is their
               sum; a buy then names one (?sku=red)
  --url URL    the server (default http://127.0.0.1:$PORT)

Durations take a unit (500ms, 90s, 15m, 1h, 2d, 1h30m): a bare number is
refused. Relative times (+10m) place a new event: on an event that exists
they keep its window, so the same command run again changes nothing (give
ISO-8601 times, or --start now, to move it).`,
  'event list': () => `usage: seckill event list [--json] [--url URL]

Lists every event the server knows, by start: its state (scheduled, open,
sold out, ended), stock, units left (Redis' count) and window.

  --json       the API's answer (GET /admin/events) instead of a table`,
  'event get': () => `usage: seckill event get ID [--url URL]

Prints the event's stats (GET /admin/events/ID): stock, remaining, buyers,
payments, orders not yet in MySQL, queue and answers by outcome. No such
event: exit 1.`,
  'event pause': () => `usage: seckill event pause ID [--url URL]

Pauses the sale of ID on every process of every server: from this call on no
unit is decided, and every buy (parked ones too) answers 16 (HTTP 503) until
seckill event resume ID. Kept in Redis and MySQL (a restore keeps it paused).
Prints the orders granted when it took effect. No such event: exit 1.`,
  'event resume': () => `usage: seckill event resume ID [--url URL]

Resumes a paused sale: buys are decided again. Prints how long the pause
lasted. No such event: exit 1.`,
  'draw verify': () => `usage: seckill draw verify ID [--user U] [--url URL]

Checks the draw at the opening of the event ID from what the server publishes
(GET /events/ID and GET /events/ID/draw, no token): the seed is the one whose
SHA-256 was shown since the event was defined, and taking the units in
ascending HMAC-SHA256(seed, SHA-256 hex of the user id), each entrant all it
asked or nothing, gives every entrant what the list says it won. Exit 1 when
anything differs.

  --user U     also say whether user U entered, and what it won
  --url URL    the server (default http://127.0.0.1:$PORT)`,
  persister: () => `usage: seckill persister [flags]

Moves orders from the Redis streams to MySQL, standalone (run the servers
with SECKILL_PERSISTER=false). Uses REDIS_URL / MYSQL_URL, or the local
services a server started under SECKILL_DATA_DIR; starts nothing itself.
Takes the flags of seckill serve (see seckill serve --help).`,
  reconcile: () => `usage: seckill reconcile [EVENT...] [--repair] [flags]

Compares Redis and MySQL for the events given (default: all) and exits 1 on
any mismatch, or when an event given is in neither. Uses REDIS_URL / MYSQL_URL, or the local services a server
started under SECKILL_DATA_DIR.

  --repair   write to MySQL the orders Redis granted that MySQL lacks`,
});
