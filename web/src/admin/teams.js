// Teams for administrators: the list, a new team, and editing one (name, line manager,
// members, deletion). A team's line manager holds the manager or senior manager role.
import { html, useEffect, useState } from '../html.js';
import { api } from '../api.js';
import { byName, loadDirectory, userName } from '../out/directory.js';
import { controlProps, Field, FormError, useAction } from './form.js';

function managers(dir) {
    return [...dir.users.values()]
        .filter((u) => !u.disabled && (u.roles.includes('manager') || u.roles.includes('senior_manager')))
        .sort(byName);
}

function ManagerSelect({ id, dir, value, onChange, error }) {
    const hint = 'Someone with the manager or senior manager role.';
    return html`<${Field} id=${id} label="Line manager" hint=${hint} error=${error}>
        <select ...${controlProps(id, error, hint)} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
            <option value="">None</option>
            ${managers(dir).map((u) => html`<option key=${u.id} value=${String(u.id)}>${u.display_name}</option>`)}
        </select>
    <//>`;
}

export function TeamsTable({ dir, onEdit }) {
    return html`<table class="stack people-table" aria-label="Teams">
        <thead><tr><th scope="col">Team</th><th scope="col">Line manager</th><th scope="col">Members</th>
            <th scope="col"><span class="pages-sr-only">Actions</span></th></tr></thead>
        <tbody>${dir.teams.map((t) => html`<tr key=${t.id}>
            <td data-label="Team">${t.name}</td>
            <td data-label="Line manager">${t.line_manager_id ? userName(dir, t.line_manager_id) : '—'}</td>
            <td data-label="Members">${t.member_ids.map((id) => userName(dir, id)).join(', ') || '—'}</td>
            <td data-label="Actions"><button type="button" class="secondary" aria-label=${`Edit team ${t.name}`}
                onClick=${() => onEdit(t.id)}>Edit</button></td>
        </tr>`)}</tbody>
    </table>`;
}

const TEAM_FIELDS = (prefix) => (f) => ({ name: `${prefix}-name`, line_manager_id: `${prefix}-manager` }[f] || null);
const TEAM_LABELS = (prefix) => ({ [`${prefix}-name`]: 'Team name', [`${prefix}-manager`]: 'Line manager' });

export function NewTeamForm({ dir, onDone }) {
    const [manager, setManager] = useState('');
    useEffect(() => document.getElementById('new-team-name')?.focus(), []);
    const action = useAction(TEAM_FIELDS('new-team'));
    async function submit(e) {
        e.preventDefault();
        const body = { name: e.currentTarget.elements['new-team-name'].value.trim() };
        if (manager) body.line_manager_id = Number(manager);
        const team = await action.run(() => api('POST', '/api/v1/teams', body));
        if (team) {
            await loadDirectory({ force: true });
            onDone(team);
        }
    }
    return html`<form class="card people-form" onSubmit=${submit} aria-labelledby="new-team-title">
        <h3 id="new-team-title">New team</h3>
        <${FormError} action=${action} labels=${TEAM_LABELS('new-team')} />
        <${Field} id="new-team-name" label="Team name" error=${action.errorFor('new-team-name')}>
            <input ...${controlProps('new-team-name', action.errorFor('new-team-name'))} required maxlength="200" />
        <//>
        <${ManagerSelect} id="new-team-manager" dir=${dir} value=${manager} onChange=${setManager}
            error=${action.errorFor('new-team-manager')} />
        <div class="actions">
            <button type="submit" disabled=${action.busy}>Create team</button>
            <button type="button" class="secondary" onClick=${() => onDone(null)}>Cancel</button>
        </div>
    </form>`;
}

function Members({ team, dir, action }) {
    const [adding, setAdding] = useState('');
    const others = [...dir.users.values()].filter((u) => !team.member_ids.includes(u.id) && !u.disabled).sort(byName);
    async function change(method, userId) {
        const done = await action.run(async () => {
            await api(method, `/api/v1/teams/${team.id}/members/${userId}`);
            return true;
        });
        if (done) {
            setAdding('');
            await loadDirectory({ force: true });
        }
    }
    const members = team.member_ids.map((id) => dir.users.get(id) || { id, display_name: `User ${id}` });
    return html`<fieldset class="people-members">
        <legend>Members</legend>
        ${members.length === 0 && html`<p class="muted">Nobody yet.</p>`}
        <ul class="people-member-list">${members.map((u) => html`<li key=${u.id}>
            <span>${u.display_name}</span>
            <button type="button" class="link" disabled=${action.busy} aria-label=${`Remove ${u.display_name} from ${team.name}`}
                onClick=${() => change('DELETE', u.id)}>Remove</button>
        </li>`)}</ul>
        <div class="people-add">
            <${Field} id="edit-team-add" label="Add a member">
                <select id="edit-team-add" value=${adding} onChange=${(e) => setAdding(e.currentTarget.value)}>
                    <option value="">Choose someone</option>
                    ${others.map((u) => html`<option key=${u.id} value=${String(u.id)}>${u.display_name}</option>`)}
                </select>
            <//>
            <button type="button" class="secondary" disabled=${!adding || action.busy}
                onClick=${() => change('PUT', Number(adding))}>Add member</button>
        </div>
    </fieldset>`;
}

export function EditTeam({ teamId, dir, onClose }) {
    const team = dir.teams.find((t) => t.id === teamId);
    const [name, setName] = useState(team ? team.name : '');
    const [manager, setManager] = useState(team && team.line_manager_id ? String(team.line_manager_id) : '');
    const [confirmDelete, setConfirmDelete] = useState(false);
    const [saved, setSaved] = useState(null);
    const action = useAction(TEAM_FIELDS('edit-team'));
    useEffect(() => document.getElementById('edit-team-title')?.focus(), []);
    if (!team) return null;
    async function save(e) {
        e.preventDefault();
        setSaved(null);
        const body = { name: name.trim(), line_manager_id: manager ? Number(manager) : null };
        if (await action.run(() => api('PATCH', `/api/v1/teams/${team.id}`, body))) {
            await loadDirectory({ force: true });
            setSaved('Changes saved.');
        }
    }
    async function remove() {
        const done = await action.run(async () => {
            await api('DELETE', `/api/v1/teams/${team.id}`);
            return true;
        });
        if (done) {
            await loadDirectory({ force: true });
            onClose(`Team ${team.name} deleted.`);
        }
    }
    return html`<form class="card people-form" onSubmit=${save} aria-labelledby="edit-team-title">
        <h3 id="edit-team-title" tabindex="-1">Edit team ${team.name}</h3>
        <${FormError} action=${action} labels=${TEAM_LABELS('edit-team')} />
        ${saved && html`<p role="status" class="ok">${saved}</p>`}
        <${Field} id="edit-team-name" label="Team name" error=${action.errorFor('edit-team-name')}>
            <input ...${controlProps('edit-team-name', action.errorFor('edit-team-name'))} required maxlength="200"
                value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
        <//>
        <${ManagerSelect} id="edit-team-manager" dir=${dir} value=${manager} onChange=${setManager}
            error=${action.errorFor('edit-team-manager')} />
        <div class="actions">
            <button type="submit" disabled=${action.busy}>Save changes</button>
            <button type="button" class="secondary" onClick=${() => onClose(null)}>Close</button>
        </div>
        <${Members} team=${team} dir=${dir} action=${action} />
        <div class="people-danger">
            ${!confirmDelete && html`<button type="button" class="secondary" onClick=${() => setConfirmDelete(true)}>Delete team</button>`}
            ${confirmDelete && html`<div class="notice people-confirm">
                <p>Its members stay; the team, its line manager and its escalation policy go.</p>
                <div class="actions">
                    <button type="button" class="danger" disabled=${action.busy} onClick=${remove}>Delete team ${team.name}</button>
                    <button type="button" class="secondary" onClick=${() => setConfirmDelete(false)}>Cancel</button>
                </div>
            </div>`}
        </div>
    </form>`;
}
