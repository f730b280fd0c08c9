// Escalation cases as the "who is out" board shows them: the level reached, who holds
// the case, and who has been told (the users of its "notified" steps).
import { api, ApiError, apiList } from '../api.js';
import { words } from '../format.js';

// The open case of each visit that has one, and for a visit past its deadline with no
// open case, its latest case (one handed to the police stays on the board).
export async function loadCases(visits, isOverdueByTime) {
    const cases = new Map();
    await Promise.all(visits.map(async (v) => {
        try {
            if (v.escalation_id) {
                cases.set(v.id, await api('GET', `/api/v1/escalations/${v.escalation_id}`));
            } else if (isOverdueByTime(v)) {
                const all = await apiList(`/api/v1/escalations?visit_id=${v.id}`, { max: 200 });
                const last = all[all.length - 1];
                if (last) cases.set(v.id, await api('GET', `/api/v1/escalations/${last.id}`));
            }
        } catch (err) {
            // A case resolved or hidden between the two reads: the row shows without it.
            if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 403)) throw err;
        }
    }));
    return cases;
}

// Ids of the users told of the case, in the order they were told, once each.
export function toldUserIds(esc) {
    const ids = [];
    for (const s of esc.steps || [])
        if (s.kind === 'notified' && s.user_id != null && !ids.includes(s.user_id)) ids.push(s.user_id);
    return ids;
}

export function toldChannel(esc) {
    return (esc.steps || []).some((s) => s.kind === 'notified' && s.channel_id != null);
}

// "Level 2: line manager", "at the operators" etc.
export function levelText(esc) {
    return `Level ${esc.level + 1}: ${words(esc.level_contact)}`;
}
