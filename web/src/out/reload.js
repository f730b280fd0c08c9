// A page's reload, coalesced: live events come in bursts (a case opening sends several),
// and each would otherwise start its own read of the lists. At most one load runs and at
// most one more waits; the waiting one uses the page's latest filters.
import { useCallback, useEffect, useRef } from '../html.js';

// load(isCurrent) reads and sets state; isCurrent() is false once the page has gone.
export function useReload(load) {
    const latest = useRef(load);
    latest.current = load;
    const state = useRef({ running: false, queued: false, alive: true });
    useEffect(() => {
        state.current.alive = true;
        return () => {
            state.current.alive = false;
        };
    }, []);
    return useCallback(async () => {
        const s = state.current;
        if (s.running) {
            s.queued = true;
            return;
        }
        s.running = true;
        try {
            do {
                s.queued = false;
                await latest.current(() => s.alive);
            } while (s.queued && s.alive);
        } finally {
            s.running = false;
        }
    }, []);
}
