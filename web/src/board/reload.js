// Reloads that never pile up: a burst of live events (a claim, a note, a renotify arriving
// together) must not send a burst of requests, yet the last event must be seen.
import { useEffect, useRef } from '../html.js';

// A function that runs load() with at most one run in flight; calls made meanwhile fold
// into one more run after it. load() handles its own errors.
export function coalesce(load) {
    let running = null;
    let again = false;
    return function reload() {
        if (running) {
            again = true;
            return running;
        }
        running = (async () => {
            try {
                do {
                    again = false;
                    await load();
                } while (again);
            } finally {
                running = null;
            }
        })();
        return running;
    };
}

// coalesce(load) kept for the component's life; load may change between renders.
export function useCoalesced(load) {
    const latest = useRef(load);
    latest.current = load;
    const reload = useRef(null);
    if (!reload.current) reload.current = coalesce(() => latest.current());
    return reload.current;
}

// Calls reload every everyMs as well: a safety net should a live event ever be lost
// without the stream noticing (the stream's own resync covers reconnects).
export function useSafetyReload(reload, everyMs) {
    useEffect(() => {
        const t = setInterval(reload, everyMs);
        return () => clearInterval(t);
    }, [reload, everyMs]);
}
