import t from 'tap';
import { AnswerCounts, Channel, Stage } from '../src/events/answer-counts';
import { Outcome } from '../src/outcome';

/** In process: the answer counts change only through their methods, and survive their published form. */

t.test('counts by channel, stage and outcome; totals; the published form read back; sums', async (t) => {
  const a = new AnswerCounts();
  t.ok(a.empty, 'new: empty');
  a.count(Channel.Http, Stage.Redis, Outcome.Won);
  a.count(Channel.Http, Stage.Redis, Outcome.Won);
  a.count(Channel.Ws, Stage.Prefilter, Outcome.SoldOut);
  t.notOk(a.empty);
  t.equal(a.total(Outcome.Won), 2);
  t.equal(a.total(Outcome.SoldOut, Channel.Http), 0, 'by channel');
  t.equal(a.total(Outcome.SoldOut, Channel.Ws), 1);
  t.equal(a.at(Channel.Http, Stage.Redis, Outcome.Won), 2, 'by stage');
  const b = AnswerCounts.parse(a.serialize());
  t.ok(b !== undefined, 'the published form reads back');
  t.equal(b?.serialize(), a.serialize(), 'to the same counts');
  b?.add(a);
  t.equal(b?.total(Outcome.Won), 4, 'add sums');
  t.equal(a.total(Outcome.Won), 2, 'and leaves the other as it was');
  t.equal(AnswerCounts.parse('1,2,3'), undefined, 'too few numbers: refused');
  t.equal(AnswerCounts.parse(a.serialize().replace('2', 'x')), undefined, 'not a number: refused');
  t.equal(AnswerCounts.parse(a.serialize().replace('2', '-2')), undefined, 'negative: refused');
});
