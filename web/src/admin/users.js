// Users for administrators: the list, a new user (answered with a one-time password), and
// editing one (roles, teams, contact details, next of kin, disable, password reset).
import { html, useEffect, useState } from '../html.js';
import { api } from '../api.js';
import { words } from '../format.js';
import { loadDirectory, teamName } from '../out/directory.js';
import { CheckGroup, controlProps, Field, FormError, orNull, text, useAction } from './form.js';
import { OneTimePassword } from './one_time.js';

export const ROLES = ['worker', 'manager', 'senior_manager', 'lsms', 'operator', 'admin', 'police'];
const roleOptions = ROLES.map((r) => ({ value: r, label: words(r) }));
const teamOptions = (dir) => dir.teams.map((t) => ({ value: t.id, label: t.name }));

export function UsersTable({ users, dir, onEdit }) {
    return html`<table class="stack people-table" aria-label="Users">
        <thead><tr><th scope="col">Name</th><th scope="col">Username</th><th scope="col">Roles</th>
            <th scope="col">Teams</th><th scope="col">On duty</th><th scope="col">Disabled</th>
            <th scope="col"><span class="pages-sr-only">Actions</span></th></tr></thead>
        <tbody>${users.map((u) => html`<tr key=${u.id} class=${u.disabled ? 'people-disabled' : ''}>
            <td data-label="Name">${u.display_name}</td>
            <td data-label="Username">${u.username}</td>
            <td data-label="Roles">${u.roles.map(words).join(', ')}</td>
            <td data-label="Teams">${u.team_ids.map((id) => teamName(dir, id)).join(', ') || '—'}</td>
            <td data-label="On duty">${u.on_duty ? 'Yes' : 'No'}</td>
            <td data-label="Disabled">${u.disabled ? html`<span class="badge badge-red">Disabled</span>` : 'No'}</td>
            <td data-label="Actions"><button type="button" class="secondary"
                aria-label=${`Edit ${u.display_name}`} onClick=${() => onEdit(u.id)}>Edit</button></td>
        </tr>`)}</tbody>
    </table>`;
}

const NEW_LABELS = {
    'new-user-username': 'Username', 'new-user-name': 'Display name', 'new-user-roles': 'Roles',
    'new-user-teams': 'Teams', 'new-user-email': 'Email', 'new-user-phone': 'Phone',
};
const NEW_FIELDS = { username: 'new-user-username', display_name: 'new-user-name', roles: 'new-user-roles',
    team_ids: 'new-user-teams', email: 'new-user-email', phone: 'new-user-phone' };

export function NewUserForm({ dir, onCreated, onCancel }) {
    const [roles, setRoles] = useState(new Set(['worker']));
    const [teams, setTeams] = useState(new Set());
    useEffect(() => document.getElementById('new-user-username')?.focus(), []);
    const action = useAction((f) => NEW_FIELDS[f.replace(/\[.*$/, '')] || null);
    const err = action.errorFor;
    async function submit(e) {
        e.preventDefault();
        const f = e.currentTarget.elements;
        const body = {
            username: f['new-user-username'].value.trim(),
            display_name: f['new-user-name'].value.trim(),
            roles: ROLES.filter((r) => roles.has(r)),
            team_ids: [...teams],
        };
        const email = orNull(f['new-user-email'].value);
        const phone = orNull(f['new-user-phone'].value);
        if (email) body.email = email;
        if (phone) body.phone = phone;
        const answer = await action.run(() => api('POST', '/api/v1/users', body));
        if (answer) {
            await loadDirectory({ force: true });
            onCreated(answer.user, answer.one_time_password);
        }
    }
    const input = (id, label, props = {}) => html`<${Field} id=${id} label=${label} error=${err(id)}>
        <input ...${controlProps(id, err(id))} ...${props} /><//>`;
    return html`<form class="card people-form" onSubmit=${submit} aria-labelledby="new-user-title">
        <h3 id="new-user-title" tabindex="-1">New user</h3>
        <${FormError} action=${action} labels=${NEW_LABELS} />
        ${input('new-user-username', 'Username', { required: true, maxlength: 64, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' })}
        ${input('new-user-name', 'Display name', { required: true, maxlength: 200 })}
        <${CheckGroup} id="new-user-roles" legend="Roles" options=${roleOptions} selected=${roles} onChange=${setRoles} error=${err('new-user-roles')} />
        <${CheckGroup} id="new-user-teams" legend="Teams" options=${teamOptions(dir)} selected=${teams} onChange=${setTeams} error=${err('new-user-teams')} />
        ${input('new-user-email', 'Email', { type: 'email', maxlength: 254 })}
        ${input('new-user-phone', 'Phone', { type: 'tel', maxlength: 32 })}
        <div class="actions">
            <button type="submit" disabled=${action.busy}>Create user</button>
            <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
        </div>
    </form>`;
}

// The editable fields of a user, as strings for the inputs.
function formOf(u) {
    const kin = u.next_of_kin || {};
    return {
        display_name: text(u.display_name), email: text(u.email), phone: text(u.phone),
        home_address: text(u.home_address), kin_name: text(kin.name), kin_relation: text(kin.relation),
        kin_phone: text(kin.phone),
    };
}

// The PATCH body: only what changed.
function changes(u, form, roles) {
    const body = {};
    const was = formOf(u);
    if (form.display_name !== was.display_name) body.display_name = form.display_name.trim();
    for (const k of ['email', 'phone', 'home_address'])
        if (form[k] !== was[k]) body[k] = orNull(form[k]);
    if (form.kin_name !== was.kin_name || form.kin_relation !== was.kin_relation || form.kin_phone !== was.kin_phone) {
        body.next_of_kin = orNull(form.kin_name)
            ? { name: form.kin_name.trim(), relation: orNull(form.kin_relation), phone: orNull(form.kin_phone) }
            : null;
    }
    const newRoles = ROLES.filter((r) => roles.has(r));
    if (newRoles.join() !== ROLES.filter((r) => u.roles.includes(r)).join()) body.roles = newRoles;
    return body;
}

const EDIT_FIELDS = {
    display_name: 'edit-user-name', email: 'edit-user-email', phone: 'edit-user-phone', home_address: 'edit-user-home',
    next_of_kin: 'edit-user-kin-name', 'next_of_kin.name': 'edit-user-kin-name',
    'next_of_kin.relation': 'edit-user-kin-relation', 'next_of_kin.phone': 'edit-user-kin-phone', roles: 'edit-user-roles',
};
const EDIT_LABELS = {
    'edit-user-name': 'Display name', 'edit-user-email': 'Email', 'edit-user-phone': 'Phone',
    'edit-user-home': 'Home address', 'edit-user-kin-name': 'Next of kin: name',
    'edit-user-kin-relation': 'Next of kin: relation', 'edit-user-kin-phone': 'Next of kin: phone', 'edit-user-roles': 'Roles',
};

// Team membership is kept by the teams: add to and remove from each that changed.
async function saveTeams(userId, was, now) {
    for (const id of now) if (!was.includes(id)) await api('PUT', `/api/v1/teams/${id}/members/${userId}`);
    for (const id of was) if (!now.has(id)) await api('DELETE', `/api/v1/teams/${id}/members/${userId}`);
}

// The user being edited and what can be done to them; every change reads them again.
function useUserEditor(userId, onPassword) {
    const [user, setUser] = useState(null);
    const [form, setForm] = useState(null);
    const [roles, setRoles] = useState(new Set());
    const [teams, setTeams] = useState(new Set());
    const [saved, setSaved] = useState(null);
    const action = useAction((f) => EDIT_FIELDS[f] || null);
    function show(u) {
        setUser(u);
        setForm(formOf(u));
        setRoles(new Set(u.roles));
        setTeams(new Set(u.team_ids));
    }
    useEffect(() => {
        action.run(async () => show(await api('GET', `/api/v1/users/${userId}`)));
    }, [userId]);
    async function change(fn, message) {
        setSaved(null);
        const done = await action.run(async () => {
            await fn();
            show(await api('GET', `/api/v1/users/${userId}`));
            await loadDirectory({ force: true });
            return true;
        });
        if (done) setSaved(message);
    }
    return {
        user, form, setForm, roles, setRoles, teams, setTeams, saved, action,
        save: () => change(async () => {
            const body = changes(user, form, roles);
            if (Object.keys(body).length) await api('PATCH', `/api/v1/users/${userId}`, body);
            await saveTeams(userId, user.team_ids, teams);
        }, 'Changes saved.'),
        setDisabled: (disabled) => change(() => api('PATCH', `/api/v1/users/${userId}`, { disabled }),
            disabled ? 'User disabled: their sessions have ended.' : 'User enabled.'),
        reset: async () => {
            const answer = await action.run(() => api('POST', `/api/v1/users/${userId}/password-reset`, {}));
            if (answer) onPassword(user, answer.one_time_password);
        },
    };
}

export function EditUser({ userId, dir, onClose, onPassword }) {
    const ed = useUserEditor(userId, onPassword);
    const { user, form, action } = ed;
    const err = action.errorFor;
    // The form opens above the list: bring it into view (on a phone the list is long).
    const loaded = !!user;
    useEffect(() => {
        if (loaded) document.getElementById('edit-user-title')?.focus();
    }, [loaded]);
    if (!user) return html`<div class="card"><${FormError} action=${action} />${!action.error && html`<p role="status">Loading…</p>`}</div>`;
    const bind = (k) => ({ value: form[k], onInput: (e) => ed.setForm({ ...form, [k]: e.currentTarget.value }) });
    const input = (id, label, k, props = {}) => html`<${Field} id=${id} label=${label} error=${err(id)}>
        <input ...${controlProps(id, err(id))} ...${bind(k)} ...${props} /><//>`;
    const submit = (e) => {
        e.preventDefault();
        ed.save();
    };
    return html`<form class="card people-form" onSubmit=${submit} aria-labelledby="edit-user-title">
        <h3 id="edit-user-title" tabindex="-1">Edit ${user.display_name} <span class="muted">(${user.username})</span></h3>
        <${FormError} action=${action} labels=${EDIT_LABELS} />
        ${ed.saved && html`<p role="status" class="ok">${ed.saved}</p>`}
        ${user.disabled && html`<p class="notice">This user is disabled and cannot sign in.</p>`}
        ${input('edit-user-name', 'Display name', 'display_name', { required: true, maxlength: 200 })}
        <${CheckGroup} id="edit-user-roles" legend="Roles" options=${roleOptions} selected=${ed.roles} onChange=${ed.setRoles} error=${err('edit-user-roles')} />
        <${CheckGroup} id="edit-user-teams" legend="Teams" options=${teamOptions(dir)} selected=${ed.teams} onChange=${ed.setTeams} />
        ${input('edit-user-email', 'Email', 'email', { type: 'email', maxlength: 254 })}
        ${input('edit-user-phone', 'Phone', 'phone', { type: 'tel', maxlength: 32 })}
        <${Field} id="edit-user-home" label="Home address" error=${err('edit-user-home')}>
            <textarea ...${controlProps('edit-user-home', err('edit-user-home'))} ...${bind('home_address')} maxlength="500" rows="2"></textarea>
        <//>
        <fieldset class="people-kin">
            <legend>Next of kin</legend>
            ${input('edit-user-kin-name', 'Next of kin: name', 'kin_name', { maxlength: 200 })}
            ${input('edit-user-kin-relation', 'Next of kin: relation', 'kin_relation', { maxlength: 100 })}
            ${input('edit-user-kin-phone', 'Next of kin: phone', 'kin_phone', { type: 'tel', maxlength: 32 })}
        </fieldset>
        <div class="actions">
            <button type="submit" disabled=${action.busy}>Save changes</button>
            <button type="button" class="secondary" onClick=${onClose}>Close</button>
        </div>
        <${DangerZone} user=${user} busy=${action.busy} onDisable=${ed.setDisabled} onReset=${ed.reset} />
    </form>`;
}

// Disabling and password resets sign the user out: each asks once more.
function DangerZone({ user, busy, onDisable, onReset }) {
    const [confirm, setConfirm] = useState(null);
    return html`<div class="people-danger">
        ${user.disabled
            ? html`<button type="button" class="secondary" disabled=${busy} onClick=${() => onDisable(false)}>Enable user</button>`
            : html`<button type="button" class="secondary" disabled=${busy} onClick=${() => setConfirm('disable')}>Disable user</button>`}
        <button type="button" class="secondary" disabled=${busy} onClick=${() => setConfirm('reset')}>Reset password</button>
        ${confirm && html`<div class="notice people-confirm">
            <p>${confirm === 'disable'
                ? `${user.display_name} will be signed out everywhere and cannot sign in until enabled again.`
                : `${user.display_name} will be signed out everywhere, their API keys revoked, and given a new one-time password.`}</p>
            <div class="actions">
                <button type="button" class="danger" disabled=${busy} onClick=${() => {
                    setConfirm(null);
                    if (confirm === 'disable') onDisable(true);
                    else onReset();
                }}>${confirm === 'disable' ? `Disable ${user.display_name}` : `Reset the password of ${user.display_name}`}</button>
                <button type="button" class="secondary" onClick=${() => setConfirm(null)}>Cancel</button>
            </div>
        </div>`}
    </div>`;
}
