// A one-time password the server answered, shown once with how to pass it on.
import { html, useEffect, useRef } from '../html.js';

export function OneTimePassword({ user, password, onDone }) {
    const box = useRef(null);
    useEffect(() => {
        if (box.current) box.current.focus();
    }, []);
    return html`<div class="notice people-otp" role="status" tabindex="-1" ref=${box}>
        <p><strong>One-time password for ${user.display_name} (${user.username}):</strong>
            <code class="people-otp-code">${password}</code></p>
        <p>Pass it on safely: in person or by phone to ${user.display_name} alone, never by email or
            chat. It is shown only now; at their first sign-in they choose their own password.</p>
        <button type="button" class="secondary" onClick=${onDone}>I have noted it: hide it</button>
    </div>`;
}
