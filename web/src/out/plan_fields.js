// Parts of the plan-a-visit form whose options depend on the chosen worker: who may be
// planned for, the transport fields (a car is one of the worker's vehicles), the buddy.
import { html, useEffect, useState } from '../html.js';
import { api, errorText } from '../api.js';
import { byName, teamsManagedBy } from './directory.js';
import { controlProps, Field } from '../admin/form.js';

// The users the caller may plan for: themselves; a line manager also their teams'
// members; senior managers and admins anyone enabled in the organisation.
export function plannableWorkers(session, dir) {
    const me = session.user.id;
    const enabled = [...dir.users.values()].filter((u) => !u.disabled);
    let list;
    if (session.has('senior_manager', 'admin')) {
        list = enabled;
    } else {
        const ids = new Set([me]);
        if (session.has('manager'))
            for (const t of teamsManagedBy(dir, me)) for (const id of t.member_ids) ids.add(id);
        list = enabled.filter((u) => ids.has(u.id));
    }
    const others = list.filter((u) => u.id !== me).sort(byName);
    return [dir.users.get(me) || session.user, ...others];
}

export const MODES = [
    ['', 'Not given'],
    ['car', 'Car'],
    ['foot', 'On foot'],
    ['public_transport', 'Public transport'],
    ['taxi', 'Taxi'],
    ['other', 'Other'],
];

function useVehicles(workerId, wanted) {
    const [state, setState] = useState({ items: null, error: null });
    useEffect(() => {
        if (!wanted || !workerId) return undefined;
        let live = true;
        setState({ items: null, error: null });
        api('GET', `/api/v1/users/${workerId}/vehicles`)
            .then((a) => live && setState({ items: a.items, error: null }))
            .catch((err) => live && setState({ items: [], error: errorText(err) }));
        return () => {
            live = false;
        };
    }, [workerId, wanted]);
    return state;
}

// The fields of the chosen mode of transport; errorFor(id) gives a control's error.
export function TransportFields({ mode, workerId, errorFor }) {
    const vehicles = useVehicles(workerId, mode === 'car');
    const text = (id, label, max = 200) => html`<${Field} id=${id} label=${label} error=${errorFor(id)}>
        <input ...${controlProps(id, errorFor(id))} required maxlength=${max} autocomplete="off" />
    <//>`;
    if (mode === 'car') {
        const none = vehicles.items && vehicles.items.length === 0;
        const hint = vehicles.error || (none ? 'No vehicle is recorded for this worker: the worker or an administrator adds one first.' : null);
        return html`<${Field} id="plan-vehicle" label="Vehicle" hint=${hint} error=${errorFor('plan-vehicle')}>
            <select ...${controlProps('plan-vehicle', errorFor('plan-vehicle'), hint)} required>
                <option value="">${vehicles.items ? 'Choose a vehicle' : 'Loading vehicles…'}</option>
                ${(vehicles.items || []).map((v) => html`<option key=${v.id} value=${String(v.id)}>
                    ${[v.registration, v.colour, v.make, v.model].filter(Boolean).join(' ')}</option>`)}
            </select>
        <//>`;
    }
    if (mode === 'public_transport') return text('plan-route', 'Route');
    if (mode === 'taxi') return html`${text('plan-company', 'Taxi company')}${text('plan-call-sign', 'Call sign')}`;
    if (mode === 'other') return text('plan-detail', 'How the worker travels');
    return null;
}

// The transport object of the form, or undefined when none was given.
export function transportOf(mode, f) {
    if (!mode) return undefined;
    const t = { mode };
    if (mode === 'car') t.vehicle_id = Number(f['plan-vehicle'].value) || undefined;
    if (mode === 'public_transport') t.route = f['plan-route'].value.trim();
    if (mode === 'taxi') {
        t.company = f['plan-company'].value.trim();
        t.call_sign = f['plan-call-sign'].value.trim();
    }
    if (mode === 'other') t.detail = f['plan-detail'].value.trim();
    return t;
}

// Buddies: enabled users other than the worker; only those on duty may be chosen.
export function BuddySelect({ dir, workerId, error }) {
    const users = [...dir.users.values()]
        .filter((u) => !u.disabled && u.id !== workerId)
        .sort((a, b) => (b.on_duty - a.on_duty) || byName(a, b));
    const hint = 'Only people on duty can be asked; they must accept before they watch.';
    return html`<${Field} id="plan-buddy" label="Buddy" hint=${hint} error=${error}>
        <select ...${controlProps('plan-buddy', error, hint)}>
            <option value="">No buddy</option>
            ${users.map((u) => html`<option key=${u.id} value=${String(u.id)} disabled=${!u.on_duty}>
                ${u.display_name} ${u.on_duty ? '(on duty)' : '(off duty)'}</option>`)}
        </select>
    <//>`;
}
