import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { effectiveShifts, handoffAt, onCallAt, parseWhen, plan, shift, shiftAt, shiftIndexAt, shiftsBetween, wallOf, WEEKDAYS, type Every, type Override, type Rotation } from '../src/oncall/rotation.ts';

// The rotation maths on its own: pure functions, instants as ISO strings, no database and no Slack.

const MEMBERS = ['UA', 'UB', 'UC'];

function rotation(over: Partial<Rotation> & { every?: Every; time?: string; day?: Rotation['handoff']['day']; interval?: number }): Rotation {
  const { every = 'week', time = '09:00', day, interval = 1, ...rest } = over;
  return { id: 'r', name: 'R', timezone: 'UTC', start: '2026-01-01', members: MEMBERS, handoff: { every, interval, time, ...(day ? { day } : every === 'week' ? { day: 'monday' as const } : {}) }, ...rest };
}

const iso = (d: Date | undefined) => d?.toISOString().replace('.000Z', 'Z');

// Three handoffs around each 2026 change: before, on the change day (in the skipped or repeated hour), after.
const CASES: Array<{ zone: string; change: string; every: Every; time: string; start: string; expect: [string, string, string] }> = [
  // America/New_York springs forward 2026-03-08 02:00 EST → 03:00 EDT: 02:30 does not exist, it becomes 03:00 EDT.
  { zone: 'America/New_York', change: 'spring', every: 'week', time: '02:30', start: '2026-02-22', expect: ['2026-03-01T07:30:00Z', '2026-03-08T07:00:00Z', '2026-03-15T06:30:00Z'] },
  { zone: 'America/New_York', change: 'spring', every: 'day', time: '02:30', start: '2026-03-05', expect: ['2026-03-07T07:30:00Z', '2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z'] },
  { zone: 'America/New_York', change: 'spring', every: 'hour', time: '02:30', start: '2026-03-06', expect: ['2026-03-07T19:30:00Z', '2026-03-08T07:00:00Z', '2026-03-08T18:30:00Z'] },
  // It falls back 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens twice; the first (EDT) counts.
  { zone: 'America/New_York', change: 'fall', every: 'week', time: '01:30', start: '2026-10-18', expect: ['2026-10-25T05:30:00Z', '2026-11-01T05:30:00Z', '2026-11-08T06:30:00Z'] },
  { zone: 'America/New_York', change: 'fall', every: 'day', time: '01:30', start: '2026-10-29', expect: ['2026-10-31T05:30:00Z', '2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'] },
  { zone: 'America/New_York', change: 'fall', every: 'hour', time: '01:30', start: '2026-10-30', expect: ['2026-10-31T17:30:00Z', '2026-11-01T05:30:00Z', '2026-11-01T18:30:00Z'] },
  // Europe/Berlin springs forward 2026-03-29 02:00 CET → 03:00 CEST.
  { zone: 'Europe/Berlin', change: 'spring', every: 'week', time: '02:30', start: '2026-03-15', expect: ['2026-03-22T01:30:00Z', '2026-03-29T01:00:00Z', '2026-04-05T00:30:00Z'] },
  { zone: 'Europe/Berlin', change: 'spring', every: 'day', time: '02:30', start: '2026-03-26', expect: ['2026-03-28T01:30:00Z', '2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'] },
  { zone: 'Europe/Berlin', change: 'spring', every: 'hour', time: '02:30', start: '2026-03-27', expect: ['2026-03-28T13:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T12:30:00Z'] },
  // It falls back 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens twice; the first (CEST) counts.
  { zone: 'Europe/Berlin', change: 'fall', every: 'week', time: '02:30', start: '2026-10-11', expect: ['2026-10-18T00:30:00Z', '2026-10-25T00:30:00Z', '2026-11-01T01:30:00Z'] },
  { zone: 'Europe/Berlin', change: 'fall', every: 'day', time: '02:30', start: '2026-10-22', expect: ['2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'] },
  { zone: 'Europe/Berlin', change: 'fall', every: 'hour', time: '02:30', start: '2026-10-23', expect: ['2026-10-24T12:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T13:30:00Z'] },
];

for (const c of CASES) {
  const label = c.every === 'hour' ? '12-hourly' : c.every === 'day' ? 'daily' : 'weekly';
  test(`${c.zone} ${c.change} 2026, ${label} at ${c.time}: handoffs on the wall clock, the change-day one ${c.change === 'spring' ? 'moved past the gap' : 'at its first occurrence'}`, () => {
    const r = rotation({ timezone: c.zone, every: c.every, interval: c.every === 'hour' ? 12 : 1, time: c.time, day: c.every === 'week' ? 'sunday' : undefined, start: c.start });
    const onChangeDay = new Date(c.expect[1]);
    const k = shiftIndexAt(r, onChangeDay);
    assert.deepEqual([k - 1, k, k + 1].map((i) => iso(handoffAt(r, i))), c.expect);
    // The boundary to the second: one second before, the previous shift's member; at it, the next one's.
    const before = shiftAt(r, new Date(onChangeDay.getTime() - 1000))!;
    const at = shiftAt(r, onChangeDay)!;
    assert.equal(before.index, k - 1, 'one second before the handoff is still the previous shift');
    assert.equal(at.index, k, 'the handoff instant starts the new shift');
    assert.equal(before.userId, MEMBERS[(k - 1) % 3]);
    assert.equal(at.userId, MEMBERS[k % 3]);
    assert.equal(iso(before.end), iso(at.start), 'shifts meet exactly');
  });
}

test('a 12-hourly rotation keeps wall-clock 08:00/20:00 in New York, so the change nights are 11 and 13 hours long', () => {
  const r = rotation({ timezone: 'America/New_York', every: 'hour', interval: 12, time: '08:00', start: '2026-03-01' });
  const spring = shiftAt(r, new Date('2026-03-08T05:00:00Z'))!;
  assert.deepEqual([iso(spring.start), iso(spring.end)], ['2026-03-08T01:00:00Z', '2026-03-08T12:00:00Z']);
  const fall = shiftAt(r, new Date('2026-11-01T06:00:00Z'))!;
  assert.deepEqual([iso(fall.start), iso(fall.end)], ['2026-11-01T00:00:00Z', '2026-11-01T13:00:00Z']);
});

test('the first handoff is the first one on or after the start date; before it and with no members, nobody', () => {
  const r = rotation({ timezone: 'Europe/Berlin', day: 'monday', start: '2026-11-04' });
  assert.equal(iso(handoffAt(r, 0)), '2026-11-09T08:00:00Z', 'Wednesday start: first Monday after');
  assert.equal(shiftAt(r, new Date('2026-11-09T07:59:59Z')), undefined, 'before the start nobody is on call');
  assert.equal(shiftAt(r, new Date('2026-11-09T08:00:00Z'))?.userId, 'UA');
  assert.equal(shiftAt({ ...r, members: [] }, new Date('2027-01-01T00:00:00Z')), undefined, 'no members: nobody');
  assert.deepEqual(shiftsBetween({ ...r, members: [] }, new Date('2027-01-01'), new Date('2027-02-01')), [], 'no members: no shifts');
  assert.equal(onCallAt({ ...r, members: [] }, [], new Date('2027-01-01')), undefined);
});

test('an override wins only inside its window and does not move the rotation', () => {
  const r = rotation({ timezone: 'Europe/Berlin', day: 'monday', start: '2026-11-02' });
  const o: Override = { userId: 'UZ', start: new Date('2026-11-04T12:00:00Z'), end: new Date('2026-11-05T12:00:00Z'), createdAt: new Date('2026-11-01T00:00:00Z') };
  assert.equal(onCallAt(r, [o], new Date('2026-11-04T11:59:59Z'))?.userId, 'UA', 'just before: the rotation');
  assert.equal(onCallAt(r, [o], new Date('2026-11-04T12:00:00Z'))?.userId, 'UZ', 'from its start: the override');
  assert.equal(onCallAt(r, [o], new Date('2026-11-05T11:59:59Z'))?.userId, 'UZ');
  assert.equal(onCallAt(r, [o], new Date('2026-11-05T12:00:00Z'))?.userId, 'UA', 'at its end: the rotation again');
  assert.equal(onCallAt(r, [o], new Date('2026-11-09T08:00:00Z'))?.userId, 'UB', 'the next handoff is where it was');
  const later: Override = { ...o, userId: 'UY', start: new Date('2026-11-05T00:00:00Z'), createdAt: new Date('2026-11-02T00:00:00Z') };
  assert.equal(onCallAt(r, [o, later], new Date('2026-11-05T06:00:00Z'))?.userId, 'UY', 'the later-made override wins where they overlap');
  const pieces = effectiveShifts(r, [o], new Date('2026-11-02T08:00:00Z'), new Date('2026-11-16T08:00:00Z')).map((p) => [p.userId, iso(p.start), iso(p.end)]);
  assert.deepEqual(pieces, [
    ['UA', '2026-11-02T08:00:00Z', '2026-11-04T12:00:00Z'],
    ['UZ', '2026-11-04T12:00:00Z', '2026-11-05T12:00:00Z'],
    ['UA', '2026-11-05T12:00:00Z', '2026-11-09T08:00:00Z'],
    ['UB', '2026-11-09T08:00:00Z', '2026-11-16T08:00:00Z'],
  ]);
});

test('user times: ISO with an offset is that instant; a plain date and time is read in the zone, gaps moved forward', () => {
  assert.equal(iso(parseWhen('2026-03-29T02:30+02:00', 'Europe/Berlin')), '2026-03-29T00:30:00Z');
  assert.equal(iso(parseWhen('2026-03-29T09:00Z', 'America/New_York')), '2026-03-29T09:00:00Z');
  assert.equal(iso(parseWhen('2026-03-29 02:30', 'Europe/Berlin')), '2026-03-29T01:00:00Z', 'inside the gap: 03:00 CEST');
  assert.equal(iso(parseWhen('2026-10-25 02:30', 'Europe/Berlin')), '2026-10-25T00:30:00Z', 'repeated: first occurrence');
  assert.equal(iso(parseWhen('2026-11-02', 'Europe/Berlin')), '2026-11-01T23:00:00Z', 'a date alone is its midnight');
  for (const bad of ['tomorrow', '2026-02-30', '2026-13-01 10:00', '2026-01-01 25:00', '']) assert.equal(parseWhen(bad, 'UTC'), undefined, `"${bad}" is not a date`);
});

// ───────────── properties over random rotations, zones, intervals and dates ─────────────

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/St_Johns', 'Europe/Dublin', 'America/Santiago', 'Asia/Tehran', 'Pacific/Apia'];

const arbRotation = fc
  .record({
    timezone: fc.constantFrom(...ZONES),
    every: fc.constantFrom<Every>('hour', 'day', 'week'),
    interval: fc.integer({ min: 1, max: 4 }),
    hourInterval: fc.constantFrom(1, 2, 3, 6, 8, 12, 24),
    h: fc.integer({ min: 0, max: 23 }),
    m: fc.constantFrom(0, 15, 30, 45, 59),
    day: fc.constantFrom(...WEEKDAYS),
    start: fc.date({ min: new Date('2015-01-01'), max: new Date('2032-12-31'), noInvalidDate: true }),
    members: fc.uniqueArray(fc.stringMatching(/^U[A-Z0-9]{3,6}$/), { minLength: 1, maxLength: 6 }),
  })
  .map((a): Rotation => ({
    id: 'p',
    name: 'P',
    timezone: a.timezone,
    start: a.start.toISOString().slice(0, 10),
    members: a.members,
    handoff: { every: a.every, interval: a.every === 'hour' ? a.hourInterval : a.interval, time: `${String(a.h).padStart(2, '0')}:${String(a.m).padStart(2, '0')}`, ...(a.every === 'week' ? { day: a.day } : {}) },
  }));

/** The wall-clock time of handoff k, computed with Luxon's calendar arithmetic (independently of rotation.ts). */
function expectedWall(r: Rotation, k: number): number {
  let d = DateTime.fromISO(`${r.start}T${r.handoff.time}`, { zone: 'utc' });
  if (r.handoff.every === 'week') d = d.plus({ days: (WEEKDAYS.indexOf(r.handoff.day!) + 1 - d.weekday + 7) % 7 });
  const n = k * r.handoff.interval;
  return (r.handoff.every === 'hour' ? d.plus({ hours: n }) : r.handoff.every === 'day' ? d.plus({ days: n }) : d.plus({ weeks: n })).toMillis();
}

const RUNS = { numRuns: 300 };

test('property: shifts tile time — no gap, no overlap — and every instant after the start is in exactly one shift', () => {
  fc.assert(
    fc.property(arbRotation, fc.integer({ min: 0, max: 20 * 24 * 3600 }), fc.integer({ min: 1, max: 40 * 24 }), (r, offsetS, spanH) => {
      const p = plan(r);
      const from = new Date(p.first + offsetS * 1000);
      const to = new Date(from.getTime() + spanH * 3600_000);
      const shifts = shiftsBetween(p, from, to);
      assert.ok(shifts.length > 0, 'some shift covers the window');
      assert.ok(shifts[0]!.start <= from && shifts[shifts.length - 1]!.end >= to, 'the shifts cover the whole window');
      for (let i = 0; i + 1 < shifts.length; i++) assert.equal(shifts[i]!.end.getTime(), shifts[i + 1]!.start.getTime(), 'consecutive shifts meet exactly');
      for (const s of shifts) assert.ok(s.start < s.end, 'shifts are non-empty');
      const t = new Date(from.getTime() + Math.floor((to.getTime() - from.getTime()) / 2));
      const k = shiftIndexAt(p, t);
      assert.ok(handoffAt(p, k) <= t && t < handoffAt(p, k + 1), 'the shift holding t starts at or before it and ends after it');
    }),
    RUNS,
  );
});

test('property: every handoff is on the wall-clock handoff time, or the first instant after a gap; ambiguous ones take the first occurrence', () => {
  fc.assert(
    fc.property(arbRotation, fc.integer({ min: 0, max: 2000 }), (r, k) => {
      const p = plan(r);
      const zone = IANAZone.create(r.timezone);
      const want = expectedWall(r, k);
      const t = handoffAt(p, k).getTime();
      const shown = wallOf(zone, t);
      if (shown === want) {
        // First occurrence: an instant earlier by the zone's other offset nearby would show the same wall time.
        for (const probe of [t - 26 * 3600_000, t + 26 * 3600_000]) {
          const earlier = want - zone.offset(probe) * 60_000;
          if (earlier < t) assert.notEqual(wallOf(zone, earlier), want, 'no earlier instant shows the handoff time');
        }
      } else {
        assert.ok(shown > want && wallOf(zone, t - 1) < want, `the handoff time ${new Date(want).toISOString()} does not exist and the handoff is the first instant after the gap`);
      }
    }),
    RUNS,
  );
});

test('property: member order is kept — shift k belongs to members[k mod n], consecutive shifts follow the list', () => {
  fc.assert(
    fc.property(arbRotation, fc.integer({ min: 0, max: 5000 }), (r, k) => {
      const n = r.members.length;
      assert.equal(shift(r, k)!.userId, r.members[k % n]);
      assert.equal(shift(r, k + 1)!.userId, r.members[(k + 1) % n]);
      const s = shift(r, k)!;
      if (s.end > s.start) assert.equal(shiftAt(r, s.start)!.index, k, 'the shift starting at a handoff is that handoff\'s');
    }),
    RUNS,
  );
});

test('property: an override wins exactly inside [start, end) and nowhere else', () => {
  fc.assert(
    fc.property(arbRotation, fc.integer({ min: 0, max: 30 * 24 * 60 }), fc.integer({ min: 1, max: 10 * 24 * 60 }), fc.integer({ min: -3 * 24 * 60, max: 15 * 24 * 60 }), (r, startMin, lenMin, probeMin) => {
      const p = plan(r);
      const o: Override = { userId: 'UOVERRIDE', start: new Date(p.first + startMin * 60_000), end: new Date(p.first + (startMin + lenMin) * 60_000), createdAt: new Date(0) };
      const t = new Date(o.start.getTime() + probeMin * 60_000);
      const who = onCallAt(p, [o], t);
      if (t >= o.start && t < o.end) assert.equal(who?.userId, 'UOVERRIDE', 'inside the window');
      else assert.equal(who?.userId, shiftAt(p, t)?.userId, 'outside the window, the rotation');
    }),
    RUNS,
  );
});
