// Package schedule is time-based scaling: cron jobs (cronhpa-controller's
// "from this fire on, N replicas") and time windows (KEDA's cron trigger)
// in one level-triggered model, with a time zone per schedule, exact
// daylight-saving rules and holiday calendars.
//
// # Entry points
//
//   - ParseCron parses a cron expression into a Cron bound to a zone; its
//     Next and Prev give the fires around an instant.
//   - New compiles a Spec (rules, calendars, zone) into a Schedule;
//     Schedule.At answers, for any instant: which rule is in force, since
//     when, the bounds it imposes (floor, ceiling or exact replicas) and the
//     next transition, for requeueing. Preview lists the next transitions.
//   - Compose combines those bounds with a metric recommendation (from the
//     hpa package) under an explicit Policy — Clamp, Floor, Ceiling or
//     Override — without touching anybody's HPA.
//   - FromCronHPA and FromKEDACron import the anchors' formats, with a
//     Report of every change of meaning.
//
// # Cron dialect
//
// The default is the standard 5-field form of Kubernetes CronJob and KEDA,
// parsed by robfig/cron/v3: day-of-month and day-of-week are ORed when both
// are restricted, and @yearly, @monthly, @weekly, @daily, @midnight and
// @hourly are accepted. ParseOptions.Seconds reads 6 fields, seconds first;
// ParseOptions.CronHPA reads cronhpa-controller's dialect (seconds first,
// day-of-week optional). The zone is never part of the expression: TZ= and
// CRON_TZ= prefixes are refused, as is @every (no defined start), an
// expression that never fires, and one firing more than once a minute
// without the Seconds option.
//
// # Time zones and clock changes
//
// Zones come from a copy of the IANA tz database shipped with the package
// (TZDataRelease), never from the host. Next and Prev work on civil time and
// share one rule set:
//
//   - A fixed-time expression ("30 2 * * *") fires at the first instant the
//     wall clock reads the time or later: a time skipped by a spring-forward
//     gap fires once at the end of the gap (so midnight gaps, as in
//     America/Santiago, and 30-minute shifts, as on Lord Howe Island, never
//     drop a day); a time repeated by a fall-back fires once, at its first
//     occurrence.
//   - An interval-style expression (a "*", its synonym "?", or a step in the
//     second, minute or hour field, or @hourly) follows elapsed time: it fires at every instant
//     whose wall time matches, so nothing catches up after a gap and the
//     repeated hour fires again.
//
// Prev(t) <= t < Next(t) and Next(Prev(t)) == Next(t) hold everywhere; a
// differential test checks both against a minute-by-minute walk of up to
// two and a half years in nine zones, with expressions that fire once a
// month or once a year inside the hour a clock change skips or repeats.
// Searches walk the zone's periods of constant offset as its tz data gives
// them (time.Time.ZoneBounds), so they are exact however many clock changes
// they cross; where Go reports a period that does not contain the instant
// (golang/go#81583, the footer rule on Dec 31 of leap years) the bounds are
// found by probing offsets instead.
//
// # Rules
//
// A job holds from each of its fires until another job fires (the last
// fired wins). A window holds while its last start is later than its last
// end (or for a duration after its start), which stays right when start and
// end fall on different days (keda#4677). A range holds between two RFC 3339
// instants. LeadTime opens a rule early; calendars (civil dates, date ranges
// and cron patterns, in the schedule's zone) drop starts on excluded days.
// The highest priority wins; at equal priority a range beats a window and a
// window beats a job; two windows or ranges of equal priority that can hold
// together are refused by New (checked over the year 2024 and every range).
//
// Everything is a pure function of its arguments: no clock, no goroutines,
// no globals. A Cron and a Schedule are immutable and safe for concurrent use.
package schedule
