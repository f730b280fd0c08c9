// One alarm with its timeline, evidence and information pack, reloaded when a live event
// names it (and after the stream reconnects). Every read is audited by the server, so the
// page reads on events only, not on a timer.
import { useEffect, useState } from '../html.js';
import { api, errorText } from '../api.js';
import { useEvents } from '../stream.js';
import { noteEventTime, noteRecordTime } from '../out/server_clock.js';
import { useCoalesced } from './reload.js';

// {alarm, error, missing, reload}: alarm null until the first answer; an error keeps the
// last alarm shown; missing when the server says there is no such alarm (for this user).
export function useAlarm(id) {
    const [state, setState] = useState({ alarm: null, error: null, missing: false });
    const reload = useCoalesced(async () => {
        if (!(id > 0)) {
            setState({ alarm: null, error: null, missing: true });
            return;
        }
        try {
            const alarm = await api('GET', `/api/v1/alarms/${id}`);
            noteRecordTime(alarm.updated_at);
            setState({ alarm, error: null, missing: false });
        } catch (err) {
            setState((s) => ({ ...s, error: errorText(err), missing: err.status === 404 }));
        }
    });
    useEffect(() => {
        reload();
    }, [id]);
    useEvents((e) => {
        if (e.at) noteEventTime(e.at);
        if (e.kind === 'stream.resync' || (e.alarm_id === id && e.kind && e.kind.startsWith('alarm.'))) reload();
    });
    return { ...state, reload };
}

// The console's settings (map tiles), asked once.
let settings = null;
export function consoleSettings() {
    if (!settings) {
        settings = api('GET', '/api/v1/console/settings').catch(() => {
            settings = null; // asked again next time: without it the page shows coordinates
            return { map_tiles: null, map_attribution: null };
        });
    }
    return settings;
}

export function useConsoleSettings() {
    const [value, setValue] = useState(null);
    useEffect(() => {
        let live = true;
        consoleSettings().then((s) => live && setValue(s));
        return () => {
            live = false;
        };
    }, []);
    return value;
}
