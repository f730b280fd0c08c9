// The server's time as the browser best knows it. Deadlines are the server's; a browser
// whose clock is off (or a server on a simulated clock in tests) would otherwise count
// down to the wrong moment. Every live event says when it happened: the largest gap seen
// between an event's time and its arrival is the offset. The largest, because an event is
// never stamped after it arrives, so it errs towards calling a worker overdue early, never late.
import { sessionStore } from '../session.js';

let offsetMs = 0;
let known = false;

sessionStore.subscribe((s) => {
    if (s.state !== 'ready') {
        offsetMs = 0;
        known = false;
    }
});

// An event's `at` (or any time the server has just stamped) seen now.
export function noteServerTime(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return;
    const gap = t - Date.now();
    if (!known || gap > offsetMs) {
        offsetMs = gap;
        known = true;
    }
}

// The server's now for a browser time (from useNow).
export function serverNow(browserNow = Date.now()) {
    return browserNow + offsetMs;
}
