// The server's time as the browser best knows it. Deadlines are the server's; a browser
// whose clock is off (or a server on a simulated clock in tests) would otherwise count
// down to the wrong moment. Two kinds of evidence:
// - a live event arrives a moment after the server stamped it: its gap to the browser's
//   clock is the offset (the largest gap seen, as no event is stamped after it arrives);
// - any time stamped on a record (a visit's updated_at, a case's steps) has passed on the
//   server: the server's clock is at least there, so the offset is at least that gap.
// Both err towards calling a worker overdue early, never late.
import { sessionStore } from '../session.js';

let fromEvents = null;
let lowerBound = -Infinity;

sessionStore.subscribe((s) => {
    if (s.state !== 'ready') {
        fromEvents = null;
        lowerBound = -Infinity;
    }
});

function gapOf(iso) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? null : t - Date.now();
}

// A live event's `at`, as it arrives.
export function noteEventTime(iso) {
    const gap = gapOf(iso);
    if (gap !== null && (fromEvents === null || gap > fromEvents)) fromEvents = gap;
}

// A time the server stamped on a record it has just answered.
export function noteRecordTime(iso) {
    const gap = gapOf(iso);
    if (gap !== null && gap > lowerBound) lowerBound = gap;
}

// The server's now for a browser time (from useNow).
export function serverNow(browserNow = Date.now()) {
    return browserNow + Math.max(fromEvents === null ? 0 : fromEvents, lowerBound);
}
