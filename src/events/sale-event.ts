import { AnswerCounts } from './answer-counts';
import { eventKeys, type EventKeys } from '../redis/keys';
import { NO_DRAW, type DrawState, type EventDefinition, type PowDifficulty } from '../sale';
import { Outcome } from '../outcome';

/** A request admitted for a user and not yet decided (admission's Parked: this layer knows it by its user only). */
export interface Leader {
  readonly user: string;
  /** Units asked for (absent: 1). */
  readonly q?: number;
  /** The SKU's index in the definition (absent: 0, no SKUs). */
  readonly sku?: number;
}

/**
 * One sale as this process sees it: its definition, and the prefilter's local
 * state. `remaining` is Redis' count as of the last answer from Redis;
 * `reserved` counts requests admitted and not yet decided. Their difference
 * is an upper bound on what this process can still sell, so "sold out" is
 * only answered locally when Redis has nothing left or every remaining unit
 * is claimed by a request in flight.
 *
 * The sale state is read by anyone and changed only through the named
 * methods below (the fields are read-only from outside): reserve/release
 * are called by the Ledger alone, one per request; what Redis said
 * (syncRemaining, heard, soldOut, unitsReturned) by whoever heard it.
 */
export class SaleEvent {
  readonly keys: EventKeys;
  private def: Readonly<Required<Omit<EventDefinition, 'pow'>>> & Pick<EventDefinition, 'pow'>;
  /** The draw at the opening: its seed (secret until decided) and, once decided, the decision. */
  private drawState: DrawState = NO_DRAW;
  private redisRemaining: number;
  private reservedCount = 0;
  /** Another process said "sold out" while leaders of this one were undecided: applied once they are. */
  private soldOutPending = false;
  /** The known winners are every buyer Redis holds (learned while it had nothing left). */
  private complete = false;
  /** Bumped whenever Redis may have gained buyers this process has not heard of (units back on sale, a new incarnation). */
  private generation = 0;
  /** The incarnation of the Redis state the winners were learned from (lua/putEvent-4.lua, restoreBegin-4.lua). */
  private incarnationSeen: string | undefined;
  private readonly winnerOrders = new Map<string, number>();
  /**
   * payWithin > 0: until when (epoch ms, this process's clock) each known
   * winner's order is surely neither expired nor expirable (absent: unknown).
   */
  private readonly sureUntil = new Map<string, number>();
  private readonly expiredOrders = new Map<string, number>();
  private readonly queuedLeaders = new Map<string, Leader>();
  /** Answers given by this process, by stage and outcome. */
  readonly answers = new AnswerCounts();
  private expiredCount = 0;
  /** Epoch ms the current pause began; 0: not paused. */
  private pausedSince = 0;
  /** Sold in lots (a limit above 1, or SKUs): lua/buyLots-8.lua decides it, and the fields below are used. */
  private lotsOn = false;
  /** The SKU ids in the definition's order ([''] without SKUs), and each one's index. */
  private skuList: readonly string[] = [''];
  private skuIndexes = new Map<string, number>();
  /** Per SKU: Redis' count as last heard, and units reserved by undecided leaders. */
  private skuLeft: number[] = [0];
  private skuHeld: number[] = [0];
  /** Lots: user → units Redis granted them, as far as this process heard (never more than Redis holds). */
  private readonly heldUnits = new Map<string, number>();

  constructor(
    readonly id: string,
    def: EventDefinition,
    remaining: number,
  ) {
    this.keys = eventKeys(id);
    this.def = SaleEvent.fill(def);
    this.redisRemaining = remaining;
    this.defineLots();
  }

  private static fill(def: EventDefinition): Readonly<Required<Omit<EventDefinition, 'pow'>>> & Pick<EventDefinition, 'pow'> {
    return { ...def, payWithin: def.payWithin ?? 0, drawMs: def.drawMs ?? 0, limit: def.limit ?? 1, skus: def.skus ?? {} };
  }

  /** After the definition changed: the SKUs (their counts at their whole stock until Redis says otherwise). */
  private defineLots(): void {
    const entries = Object.entries(this.def.skus);
    this.lotsOn = this.def.limit > 1 || entries.length > 0;
    const ids = entries.length === 0 ? [''] : entries.map(([id]) => id);
    if (ids.join(',') === this.skuList.join(',') && this.skuLeft.length === ids.length) return;
    this.skuList = ids;
    this.skuIndexes = new Map(ids.map((id, i) => [id, i]));
    this.skuLeft = entries.length === 0 ? [this.def.stock] : entries.map(([, n]) => n);
    this.skuHeld = ids.map(() => 0);
  }

  /** Sold in lots: a limit above 1, or SKUs (lua/buyLots-8.lua); false: the one-unit fast path. */
  get lots(): boolean {
    return this.lotsOn;
  }

  /** Units one user may hold (1 on a one-unit event). */
  get limit(): number {
    return this.def.limit;
  }

  /** The event has SKUs: a buy must name one. */
  get hasSkus(): boolean {
    return this.skuList[0] !== '';
  }

  /** The SKU ids in the definition's order (`['']` without SKUs). */
  get skuIds(): readonly string[] {
    return this.skuList;
  }

  /** The definition's SKUs and their stocks (empty without SKUs). */
  get skus(): Readonly<Record<string, number>> {
    return this.def.skus;
  }

  /** A SKU id's index; -1 when the event has no such SKU. */
  skuIndex(id: string): number {
    return this.skuIndexes.get(id) ?? -1;
  }

  /** Redis' count of a SKU's units left, as last heard (lots). */
  skuRemaining(sku: number): number {
    return this.skuLeft[sku] ?? 0;
  }

  /** A SKU's units this process may still admit requests for (lots). */
  skuAvailable(sku: number): number {
    return (this.skuLeft[sku] ?? 0) - (this.skuHeld[sku] ?? 0);
  }

  /** Each SKU's count after a lots batch, restore or re-read (in the definition's order). */
  syncSkus(left: readonly number[]): void {
    if (left.length !== this.skuLeft.length) return;
    for (let i = 0; i < left.length; i++) this.skuLeft[i] = left[i] as number;
  }

  /** Units Redis granted `user`, as far as this process heard (lots; 0: none known). */
  heldBy(user: string): number {
    return this.heldUnits.get(user) ?? 0;
  }

  /**
   * What Redis answered `user` on a lots event: a win adds its units, "already
   * bought" and "over limit" say how many they hold at least; a win or
   * "already bought" also makes its order their last known one.
   */
  heardLot(user: string, code: Outcome, order: number, count: number, sureUntil = 0): void {
    if (code === Outcome.Won) this.holdAtLeast(user, this.heldBy(user) + count);
    else if (code === Outcome.AlreadyBought || code === Outcome.Expired) this.holdAtLeast(user, this.def.limit);
    else if (code === Outcome.OverLimit) this.holdAtLeast(user, this.def.limit - count);
    else return;
    if (code === Outcome.Expired) this.expiredOrders.set(user, order);
    else if (code === Outcome.Won) this.learnWinner(user, order, sureUntil);
    else if (code === Outcome.AlreadyBought) this.learnWinner(user, order);
  }

  /** Lots: `user` holds at least `units` (the catalog's read of the buyers hash, or an answer from Redis). */
  holdAtLeast(user: string, units: number): void {
    if (units > this.heldBy(user)) this.heldUnits.set(user, units);
  }

  /** Units on sale in all (the definition's; `define` is the only writer of the definition). */
  get stock(): number {
    return this.def.stock;
  }

  /** Epoch ms the sale opens. */
  get start(): number {
    return this.def.start;
  }

  /** Epoch ms the sale ends. */
  get end(): number {
    return this.def.end;
  }

  get name(): string {
    return this.def.name;
  }

  /** Seconds a winner has to pay; 0: a win is final. */
  get payWithin(): number {
    return this.def.payWithin;
  }

  /** The proof of work a buy must carry (ALTCHA); undefined: none. */
  get pow(): PowDifficulty | undefined {
    return this.def.pow;
  }

  /** The draw window at the opening, in ms after the start; 0: no draw. */
  get drawMs(): number {
    return this.def.drawMs;
  }

  /** The draw's seed and decision as last read from Redis or heard from a draw script (seed '' until read). */
  get draw(): DrawState {
    return this.drawState;
  }

  /**
   * The event has a draw not yet decided (as far as this process knows):
   * its buys go to the draw scripts, which enter them while the window is
   * open by Redis' clock, and decide it (or learn it decided) after.
   */
  get drawPending(): boolean {
    return this.def.drawMs > 0 && this.drawState.decided === 0;
  }

  /** The draw as Redis holds it (Catalog.load), or its decision as a draw script answered it (the consumer). */
  learnDraw(draw: DrawState): void {
    this.drawState = draw;
  }

  /** The operator paused the sale (lua/pauseEvent-2.lua): every buy answers 16, parked ones too. */
  get paused(): boolean {
    return this.pausedSince > 0;
  }

  /** The pause switch as last read from Redis (Catalog.load) or learned from a buy answered 16 (since: 0 resumes). */
  pause(since: number): void {
    this.pausedSince = since;
  }

  /** How many expired orders Redis had when `winners` was last brought in line with them (see unitsReturned). */
  get expiredSeen(): number {
    return this.expiredCount;
  }

  /** Redis' count of units left, as last heard. */
  get remaining(): number {
    return this.redisRemaining;
  }

  /** Units held by leaders admitted here and not yet decided (one each on a one-unit event). */
  get reserved(): number {
    return this.reservedCount;
  }

  /** Users known to have won here → their order number. */
  get winners(): ReadonlyMap<string, number> {
    return this.winnerOrders;
  }

  /** Users whose order expired unpaid → that order number (no longer winners; they may not buy again). */
  get expired(): ReadonlyMap<string, number> {
    return this.expiredOrders;
  }

  /** Users with a request parked or in flight → that request (its leader). */
  get queued(): ReadonlyMap<string, Leader> {
    return this.queuedLeaders;
  }

  /** A leader admitted (Ledger.reserve): it holds one unit until released. */
  reserve(leader: Leader): void {
    const q = leader.q ?? 1;
    this.reservedCount += q;
    if (this.lotsOn) this.skuHeld[leader.sku ?? 0] = (this.skuHeld[leader.sku ?? 0] ?? 0) + q;
    this.queuedLeaders.set(leader.user, leader);
  }

  /**
   * A leader decided or dropped (Ledger): its unit goes back to the estimate.
   * True when that was the last undecided leader and a sell-out another
   * process announced meanwhile now applies (tell the watchers).
   */
  release(leader: Leader): boolean {
    const q = leader.q ?? 1;
    this.reservedCount -= q;
    if (this.lotsOn && (leader.sku ?? 0) < this.skuHeld.length) this.skuHeld[leader.sku ?? 0] = (this.skuHeld[leader.sku ?? 0] ?? 0) - q;
    if (this.queuedLeaders.get(leader.user) === leader) this.queuedLeaders.delete(leader.user);
    if (this.reservedCount > 0 || !this.soldOutPending) return false;
    this.soldOutPending = false;
    return this.setRemaining(0);
  }

  /** Redis' count after this process's buy script call. */
  syncRemaining(remaining: number): void {
    this.soldOutPending = false;
    this.setRemaining(remaining);
  }

  /** Sets Redis' count; a rise means units came back on sale, so buyers may be added that this process will not hear of. */
  private setRemaining(remaining: number): boolean {
    const was = this.redisRemaining;
    this.redisRemaining = remaining;
    // A count above 0 read after a held-back sell-out (units came back, or a fresher read) makes that news stale.
    if (remaining > 0) this.soldOutPending = false;
    if (remaining > 0 && was <= 0) this.invalidateWinners();
    return was > 0 && remaining <= 0;
  }

  private invalidateWinners(): void {
    this.complete = false;
    this.generation++;
  }

  /**
   * Whether the known winners are all of Redis' buyers: only then may
   * "sold out" be answered from memory (a buyer who won through another
   * process or instance, or before a restart, must hear "already bought").
   */
  get winnersComplete(): boolean {
    return this.complete;
  }

  /** A token for completeWinners: the winners read after it are complete only if nothing changed meanwhile. */
  get winnersGeneration(): number {
    return this.generation;
  }

  /**
   * The catalog read every buyer (or counted them equal to the known
   * winners) while Redis had nothing left. Ignored when something changed
   * since `generation` was taken.
   */
  winnersCompleted(generation: number): void {
    if (generation === this.generation && this.redisRemaining <= 0) this.complete = true;
  }

  /** Known winners plus expired users: compared with HLEN buyers. */
  get buyersKnown(): number {
    return this.winnerOrders.size + this.expiredOrders.size;
  }

  /**
   * The Redis state's incarnation, as read by the catalog. A new one (the
   * event was restored from MySQL, or wiped and created again) makes the
   * known winners stale: they are forgotten, and the caller reads them anew.
   * True when that happened.
   */
  incarnation(id: string | undefined): boolean {
    const changed = this.incarnationSeen !== undefined && id !== undefined && id !== this.incarnationSeen;
    if (id !== undefined) this.incarnationSeen = id;
    if (!changed) return false;
    this.winnerOrders.clear();
    this.sureUntil.clear();
    this.expiredOrders.clear();
    this.heldUnits.clear();
    this.expiredCount = 0;
    this.invalidateWinners();
    return true;
  }

  /**
   * What Redis answered `user`: a win (0) or "already bought" (2) makes them
   * a known winner, whose next click is answered from memory. The one place
   * that rule is written; `sureUntil` as for learnWinner (a win only).
   */
  heard(user: string, code: Outcome, order: number, sureUntil = 0): void {
    if (code === Outcome.Won) this.learnWinner(user, order, sureUntil);
    else if (code === Outcome.AlreadyBought) this.learnWinner(user, order);
  }

  /**
   * Redis holds `user` as a buyer with this order number. With a
   * payment deadline, `sureUntil` is when their order may first expire (by
   * this process's clock; unknown: 0), and their clicks after it go to
   * Redis, which answers 2 (paid, or not yet swept) or 12 (expired).
   */
  learnWinner(user: string, order: number, sureUntil = 0): void {
    // An expired order's user stays a buyer in Redis, answered 12, never a winner again.
    if (this.expiredOrders.has(user)) return;
    this.winnerOrders.set(user, order);
    if (this.payWithin > 0) this.sureUntil.set(user, Math.max(sureUntil, this.sureUntil.get(user) ?? 0));
  }

  /**
   * "Already bought" may come from memory: `user` is a known winner, and
   * their win is final or its payment deadline cannot have passed yet (an
   * order another process expired reaches this one a moment later).
   */
  boughtFor(user: string, now: number): boolean {
    if (!this.winnerOrders.has(user)) return false;
    return this.payWithin <= 0 || (this.sureUntil.get(user) ?? 0) > now;
  }

  /** Redis may hold buyers this process has not heard of (its count differs from the known ones): read them before answering "sold out" again. */
  recheckWinners(): void {
    this.invalidateWinners();
  }

  /** Forgets the known winners (the event was wiped; or a test that wants Redis asked). */
  forgetWinners(): void {
    this.winnerOrders.clear();
    this.heldUnits.clear();
    this.sureUntil.clear();
    this.invalidateWinners();
  }

  /**
   * Another process sold the event out. False when this process knew it
   * already, or while leaders of its own are undecided: their answers (a
   * win among them) come first, then the sell-out (see release).
   */
  soldOut(): boolean {
    if (this.redisRemaining <= 0) return false;
    if (this.reservedCount > 0) {
      this.soldOutPending = true;
      return false;
    }
    return this.setRemaining(0);
  }

  /** The definition and Redis' count as read from Redis (a count of 0 waits for this process's undecided leaders, as soldOut does). */
  define(def: EventDefinition, remaining: number): void {
    this.def = SaleEvent.fill(def);
    this.defineLots();
    if (remaining <= 0 && this.redisRemaining > 0 && this.reservedCount > 0) this.soldOutPending = true;
    else this.setRemaining(remaining);
  }

  /**
   * Orders expired and their units went back on sale: `remaining` is Redis'
   * count after it (an estimate that said "sold out" sells again), and the
   * expired users move from the local winners to `expired`: the prefilter
   * sends their next buy to Redis, whatever the local estimate says, and
   * Redis answers "expired" (12) with their old order number. A count
   * from Redis that is already stale only makes the estimate high for a
   * moment: Redis decides every sale. `expiredInRedis` (when they were read
   * from Redis' expired hash) is its count; else these are new ones.
   */
  unitsReturned(remaining: number, expired: readonly { readonly user: string; readonly order: number }[], expiredInRedis?: number): void {
    if (remaining >= 0) this.setRemaining(remaining);
    this.expiredCount = expiredInRedis ?? this.expiredCount + expired.length;
    for (const { user, order } of expired) {
      this.winnerOrders.delete(user);
      this.sureUntil.delete(user);
      this.expiredOrders.set(user, order);
    }
  }

  /** Units this process may still admit requests for. */
  get available(): number {
    return this.remaining - this.reserved;
  }

  state(now: number): 'scheduled' | 'open' | 'ended' {
    return now < this.start ? 'scheduled' : now < this.end ? 'open' : 'ended';
  }
}
