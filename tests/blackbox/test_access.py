"""Who may do what (roles x endpoints), organisation isolation, and field layers."""

import pytest

from conftest import (PASSWORD, ROLES, Account, activate, assert_error, create_org, create_team,
                      create_user, list_all, new_accounts, ok, unique)

DIRECTORY = {"id", "organisation_id", "username", "display_name", "roles", "team_ids", "disabled",
             "password_change_required", "created_at", "updated_at"}
CONTACT = {"email", "phone", "vehicles"}
PERSONAL = {"next_of_kin"}
PRIVATE = {"home_address"}

LAYERS = {
    "directory": DIRECTORY,
    "contact": DIRECTORY | CONTACT,
    "personal": DIRECTORY | CONTACT | PERSONAL,
    "private": DIRECTORY | CONTACT | PERSONAL | PRIVATE,
}

# The layer of a team member (not the viewer) each role sees; the manager is the
# line manager of the member's team.
LAYER_OF_TEAM_MEMBER = {
    "worker": "directory",
    "manager": "personal",
    "senior_manager": "personal",
    "lsms": "contact",
    "operator": "personal",
    "admin": "private",
}

# ... and of a user in no team the viewer manages.
LAYER_OF_STRANGER = dict(LAYER_OF_TEAM_MEMBER, manager="directory")

MISSING = 987654321


class World:
    pass


@pytest.fixture(scope="module")
def world(shared_server):
    srv = shared_server
    w = World()
    w.srv = srv
    w.host_admin = srv.admin()
    admin_token = w.host_admin
    me = ok(srv.call("GET", "/api/v1/me", token=admin_token))
    w.org_id = me["organisation"]["id"]

    specs = {role: (unique(role.replace("_", "")), [role], {}) for role in ROLES if role != "admin"}
    specs["admin"] = (unique("adm"), ["admin"], {})
    contact = {"email": "t@example.org", "phone": "+44 113 496 0000",
               "next_of_kin": {"name": "Kin Name", "relation": "sister", "phone": "0113 496 0001"},
               "home_address": "3 Secret Lane"}
    specs["target"] = (unique("target"), ["worker"], dict(contact))
    specs["stranger"] = (unique("stranger"), ["worker"], dict(contact))
    accts = new_accounts(srv, admin_token, specs)
    w.accts = accts

    w.team_a = create_team(srv, admin_token, unique("Team A "), accts["manager"].id)
    w.team_b = create_team(srv, admin_token, unique("Team B "))
    for key in ("worker", "target"):
        ok(srv.call("PUT", "/api/v1/teams/%d/members/%d" % (w.team_a["id"], accts[key].id),
                    token=admin_token), 204)
    ok(srv.call("POST", "/api/v1/users/%d/vehicles" % accts["target"].id, token=admin_token,
                body={"registration": "TG1 1TG"}), 201)
    ok(srv.call("POST", "/api/v1/users/%d/vehicles" % accts["stranger"].id, token=admin_token,
                body={"registration": "ST1 1ST"}), 201)
    # users only acted upon
    w.joiner, _ = create_user(srv, admin_token, unique("joiner"), ["worker"])
    w.reset_me, _ = create_user(srv, admin_token, unique("resetme"), ["worker"])
    w.bystander, _ = create_user(srv, admin_token, unique("bystander"), ["worker"],
                                 team_ids=[w.team_a["id"]])
    # one API key per account of the host organisation
    w.keys = {}
    for key, acct in accts.items():
        w.keys[key] = ok(srv.call("POST", "/api/v1/api-keys", token=acct.token,
                                  body={"name": "k " + key}), 201)["api_key"]

    # A second organisation with a user, a team, a vehicle and a key.
    org, oadmin, otp = create_org(srv, admin_token, unique("Other Org "), unique("otheradm"))
    w.other_org = org
    otok = activate(srv, oadmin["username"], otp, PASSWORD)
    w.other_admin = Account(oadmin, otok, PASSWORD)
    ouser, ootp = create_user(srv, otok, unique("otheruser"), ["worker", "manager"], **contact)
    w.other_user = Account(ouser, activate(srv, ouser["username"], ootp, PASSWORD), PASSWORD)
    w.other_team = create_team(srv, otok, unique("Other Team "), ouser["id"])
    ok(srv.call("PUT", "/api/v1/teams/%d/members/%d" % (w.other_team["id"], ouser["id"]),
                token=otok), 204)
    w.other_vehicle = ok(srv.call("POST", "/api/v1/users/%d/vehicles" % ouser["id"], token=otok,
                                  body={"registration": "OT1 1OT"}), 201)
    w.other_key = ok(srv.call("POST", "/api/v1/api-keys", token=w.other_user.token,
                              body={"name": "other key"}), 201)["api_key"]
    return w


def token_of(world, role):
    if role == "host_admin":
        return world.host_admin
    return world.accts[role].token


# -- role x endpoint ----------------------------------------------------------------------------

def expect(allowed, ok_status):
    return {r: (ok_status if r in allowed else 403) for r in ROLES}


def ep_list_teams(w, role):
    return w.srv.call("GET", "/api/v1/teams", token=token_of(w, role))


def ep_create_team(w, role):
    return w.srv.call("POST", "/api/v1/teams", token=token_of(w, role),
                      body={"name": unique("New team ")})


def ep_update_team(w, role):
    return w.srv.call("PATCH", "/api/v1/teams/%d" % w.team_a["id"], token=token_of(w, role),
                      body={"name": w.team_a["name"]})


def ep_delete_team(w, role):
    team = create_team(w.srv, w.host_admin, unique("Doomed "), w.accts["manager"].id)
    return w.srv.call("DELETE", "/api/v1/teams/%d" % team["id"], token=token_of(w, role))


def ep_add_member(w, role):
    return w.srv.call("PUT", "/api/v1/teams/%d/members/%d" % (w.team_a["id"], w.joiner["id"]),
                      token=token_of(w, role))


def ep_remove_member_managed_team(w, role):
    return w.srv.call("DELETE", "/api/v1/teams/%d/members/%d" % (w.team_a["id"], w.bystander["id"]),
                      token=token_of(w, role))


def ep_remove_member_other_team(w, role):
    return w.srv.call("DELETE", "/api/v1/teams/%d/members/%d" % (w.team_b["id"], w.joiner["id"]),
                      token=token_of(w, role))


def ep_create_user(w, role):
    return w.srv.call("POST", "/api/v1/users", token=token_of(w, role),
                      body={"username": unique("made"), "display_name": "Made",
                            "roles": ["worker"]})


def ep_patch_roles(w, role):
    return w.srv.call("PATCH", "/api/v1/users/%d" % w.accts["target"].id, token=token_of(w, role),
                      body={"roles": ["worker"]})


def ep_patch_other_contact(w, role):
    return w.srv.call("PATCH", "/api/v1/users/%d" % w.accts["target"].id, token=token_of(w, role),
                      body={"phone": "+44 113 496 0000"})


def ep_patch_own_contact(w, role):
    return w.srv.call("PATCH", "/api/v1/users/%d" % w.accts[role].id, token=token_of(w, role),
                      body={"phone": "+44 113 496 0999", "email": role + "@example.org",
                            "display_name": "Me " + role})


def ep_read_other(w, role):
    return w.srv.call("GET", "/api/v1/users/%d" % w.accts["target"].id, token=token_of(w, role))


def ep_read_other_vehicles(w, role):
    return w.srv.call("GET", "/api/v1/users/%d/vehicles" % w.accts["target"].id,
                      token=token_of(w, role))


def ep_add_other_vehicle(w, role):
    return w.srv.call("POST", "/api/v1/users/%d/vehicles" % w.joiner["id"],
                      token=token_of(w, role), body={"registration": "JN1 " + role[:3]})


def ep_password_reset(w, role):
    return w.srv.call("POST", "/api/v1/users/%d/password-reset" % w.reset_me["id"],
                      token=token_of(w, role))


def ep_list_keys(w, role):
    return w.srv.call("GET", "/api/v1/api-keys?limit=200", token=token_of(w, role))


def ep_revoke_other_key(w, role):
    # the key of the stranger account; only admins may revoke it (they do so last)
    return w.srv.call("DELETE", "/api/v1/api-keys/%d" % w.keys["stranger"]["id"],
                      token=token_of(w, role))


def ep_create_key_for_other(w, role):
    return w.srv.call("POST", "/api/v1/api-keys", token=token_of(w, role),
                      body={"name": "for target", "user_id": w.accts["target"].id})


def ep_audit(w, role):
    return w.srv.call("GET", "/api/v1/audit-events", token=token_of(w, role))


def ep_create_org(w, role):
    return w.srv.call("POST", "/api/v1/organisations", token=token_of(w, role),
                      body={"name": unique("Org by " + role),
                            "admin": {"username": unique("oby"), "display_name": "X"}})


def ep_rename_own_org(w, role):
    st, body, h = w.srv.call("GET", "/api/v1/organisations/%d" % w.org_id, token=token_of(w, role))
    assert st == 200, body
    return w.srv.call("PATCH", "/api/v1/organisations/%d" % w.org_id, token=token_of(w, role),
                      body={"name": body["name"]})


ALL = set(ROLES)
TABLE = [
    ("list teams", ep_list_teams, expect(ALL, 200)),
    ("create team", ep_create_team, expect({"admin"}, 201)),
    ("update team", ep_update_team, expect({"admin"}, 200)),
    ("delete team", ep_delete_team, expect({"admin"}, 204)),
    ("add member", ep_add_member, expect({"admin"}, 204)),
    ("remove member of a managed team", ep_remove_member_managed_team, expect({"admin"}, 204)),
    ("remove member of an unmanaged team", ep_remove_member_other_team, expect({"admin"}, 204)),
    ("create user", ep_create_user, expect({"admin"}, 201)),
    ("patch another user's roles", ep_patch_roles, expect({"admin"}, 200)),
    ("patch another user's phone", ep_patch_other_contact, expect({"admin"}, 200)),
    ("patch own contact fields", ep_patch_own_contact, expect(ALL, 200)),
    ("read another user", ep_read_other, expect(ALL, 200)),
    ("read another user's vehicles", ep_read_other_vehicles,
     expect({"manager", "senior_manager", "lsms", "operator", "admin"}, 200)),
    ("add another user's vehicle", ep_add_other_vehicle, expect({"admin"}, 201)),
    ("password reset", ep_password_reset, expect({"admin"}, 200)),
    ("list api keys", ep_list_keys, expect(ALL, 200)),
    ("revoke another user's api key", ep_revoke_other_key, expect({"admin"}, 204)),
    ("create api key for another user", ep_create_key_for_other, expect({"admin"}, 201)),
    ("audit events", ep_audit, expect({"admin", "lsms"}, 200)),
    ("create organisation", ep_create_org, expect({"admin"}, 201)),
    ("rename own organisation", ep_rename_own_org, expect({"admin"}, 200)),
]

CASES = [(name, fn, role, table[role]) for name, fn, table in TABLE for role in ROLES]


@pytest.mark.parametrize("name,fn,role,status", CASES,
                         ids=["%s-%s" % (c[0].replace(" ", "_"), c[2]) for c in CASES])
def test_role_endpoint(world, name, fn, role, status):
    resp = fn(world, role)
    if status == 403:
        assert_error(resp, 403, "forbidden")
    else:
        st, body, _ = resp
        assert st == status, "%s as %s: expected %s, got %s %r" % (name, role, status, st, body)


def test_host_admin_creates_organisations(world):
    st, body, _ = ep_create_org(world, "host_admin")
    assert st == 201, body


def test_own_roles_are_not_self_editable(world):
    for role in ROLES:
        if role == "admin":
            continue
        acct = world.accts[role]
        assert_error(world.srv.call("PATCH", "/api/v1/users/%d" % acct.id, token=acct.token,
                                    body={"roles": ["admin"]}), 403, "forbidden", "roles")
        assert_error(world.srv.call("PATCH", "/api/v1/users/%d" % acct.id, token=acct.token,
                                    body={"disabled": True}), 403, "forbidden", "disabled")
        me = ok(world.srv.call("GET", "/api/v1/me", token=acct.token))
        assert me["user"]["roles"] == [role]
        assert me["user"]["disabled"] is False


def test_line_manager_cannot_pull_a_user_into_their_team(world):
    """Adding a member would give the line manager the user's contact and next of kin."""
    mgr = world.accts["manager"].token
    stranger = world.accts["stranger"].id
    assert_error(world.srv.call("PUT", "/api/v1/teams/%d/members/%d"
                                % (world.team_a["id"], stranger), token=mgr), 403, "forbidden")
    team = ok(world.srv.call("GET", "/api/v1/teams/%d" % world.team_a["id"], token=mgr))
    assert stranger not in team["member_ids"]
    check_layer(ok(world.srv.call("GET", "/api/v1/users/%d" % stranger, token=mgr)), "directory",
                "manager")


def test_api_key_list_scope(world):
    """Admins see every key of their organisation; everyone else only their own."""
    for role in ROLES:
        items = list_all(world.srv, "/api/v1/api-keys", token_of(world, role))
        owners = {k["user_id"] for k in items}
        ids = {k["id"] for k in items}
        if role == "admin":
            assert {world.keys[r]["id"] for r in ("worker", "target", "manager")} <= ids
        else:
            assert owners == {world.accts[role].id}, (role, items)
        assert world.other_key["id"] not in ids
    host = list_all(world.srv, "/api/v1/api-keys", world.host_admin)
    assert world.other_key["id"] not in {k["id"] for k in host}
    assert world.keys["worker"]["id"] in {k["id"] for k in host}


def test_api_key_acts_with_owner_roles(world):
    key = ok(world.srv.call("POST", "/api/v1/api-keys", token=world.accts["worker"].token,
                            body={"name": "device"}), 201)["key"]
    assert_error(world.srv.call("POST", "/api/v1/teams", token=key, body={"name": unique("K")}),
                 403, "forbidden")
    body = ok(world.srv.call("GET", "/api/v1/users/%d" % world.accts["target"].id, token=key))
    assert not (set(body) & (CONTACT | PERSONAL | PRIVATE)), body


# -- organisation isolation ---------------------------------------------------------------------

VIEWERS = ROLES + ("host_admin",)


OTHER_ORG_REQUESTS = [
    ("GET", "/api/v1/users/{user}", None),
    ("GET", "/api/v1/users/{user}/vehicles", None),
    ("GET", "/api/v1/teams/{team}", None),
    ("PATCH", "/api/v1/users/{user}", {"display_name": "Hijacked"}),
    ("POST", "/api/v1/users/{user}/password-reset", None),
    ("POST", "/api/v1/users/{user}/vehicles", {"registration": "HJ1"}),
    ("DELETE", "/api/v1/users/{user}/vehicles/{vehicle}", None),
    ("PATCH", "/api/v1/teams/{team}", {"name": "Hijacked"}),
    ("DELETE", "/api/v1/teams/{team}", None),
    ("PUT", "/api/v1/teams/{team}/members/{own}", None),
    ("DELETE", "/api/v1/teams/{team}/members/{user}", None),
    ("DELETE", "/api/v1/api-keys/{key}", None),
]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_other_organisation_records_are_invisible(world, viewer):
    tok = token_of(world, viewer)
    failures = []
    real = {"user": world.other_user.id, "team": world.other_team["id"],
            "vehicle": world.other_vehicle["id"], "key": world.other_key["id"],
            "own": world.accts["worker"].id}
    fake = {"user": MISSING, "team": MISSING + 1, "vehicle": MISSING + 2, "key": MISSING + 3,
            "own": world.accts["worker"].id}
    for method, template, body in OTHER_ORG_REQUESTS:
        path = template.format(**real)
        twin_path = template.format(**fake)
        st, answer, _ = world.srv.call(method, path, token=tok, body=body)
        tst, tanswer, _ = world.srv.call(method, twin_path, token=tok, body=body)
        if method == "GET" or viewer in ("admin", "host_admin"):
            if st != 404:
                failures.append("%s %s as %s: %s %r (expected 404)" % (method, path, viewer, st,
                                                                      answer))
        if st != tst or st not in (403, 404):
            failures.append("%s %s as %s: %s, but %s for a record that does not exist"
                            % (method, path, viewer, st, tst))
        if isinstance(answer, dict) and isinstance(tanswer, dict) and st == tst:
            if answer.get("error", {}).get("code") != tanswer.get("error", {}).get("code"):
                failures.append("%s %s as %s: codes differ %r vs %r"
                                % (method, path, viewer, answer, tanswer))
    assert not failures, "\n".join(failures)
    # nothing was changed
    ou = ok(world.srv.call("GET", "/api/v1/users/%d" % world.other_user.id,
                           token=world.other_admin.token))
    assert ou["display_name"] != "Hijacked"
    assert len(ou["vehicles"]) == 1
    ot = ok(world.srv.call("GET", "/api/v1/teams/%d" % world.other_team["id"],
                           token=world.other_admin.token))
    assert ot["name"] == world.other_team["name"]
    assert ot["member_ids"] == [world.other_user.id]
    ok(world.srv.call("GET", "/api/v1/me", token=world.other_user.token))
    key_list = list_all(world.srv, "/api/v1/api-keys", world.other_admin.token)
    assert [k["revoked_at"] for k in key_list if k["id"] == world.other_key["id"]] == [None]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_other_organisation_absent_from_lists(world, viewer):
    tok = token_of(world, viewer)
    users = list_all(world.srv, "/api/v1/users", tok)
    ids = {u["id"] for u in users}
    assert world.other_user.id not in ids and world.other_admin.id not in ids
    assert world.accts["target"].id in ids
    assert all(u["organisation_id"] == world.org_id for u in users)
    by_name = list_all(world.srv, "/api/v1/users?username=%s" % world.other_user.username, tok)
    assert by_name == []
    teams = list_all(world.srv, "/api/v1/teams", tok)
    assert world.other_team["id"] not in {t["id"] for t in teams}
    assert all(t["organisation_id"] == world.org_id for t in teams)
    st, body, _ = world.srv.call("GET", "/api/v1/users?team_id=%d" % world.other_team["id"],
                                 token=tok)
    if st == 200:
        assert body["items"] == []
    else:
        assert st in (404, 422), (st, body)


def test_other_organisation_cannot_see_host(world):
    """The other organisation's admin sees none of the host organisation's records."""
    tok = world.other_admin.token
    target = world.accts["target"].id
    assert_error(world.srv.call("GET", "/api/v1/users/%d" % target, token=tok), 404, "not_found")
    assert_error(world.srv.call("GET", "/api/v1/teams/%d" % world.team_a["id"], token=tok), 404,
                 "not_found")
    assert_error(world.srv.call("GET", "/api/v1/organisations/%d" % world.org_id, token=tok), 404,
                 "not_found")
    assert_error(world.srv.call("PATCH", "/api/v1/users/%d" % target, token=tok,
                                body={"display_name": "X"}), 404, "not_found")
    assert_error(world.srv.call("DELETE", "/api/v1/api-keys/%d" % world.keys["target"]["id"],
                                token=tok), 404, "not_found")
    assert_error(world.srv.call("PUT", "/api/v1/teams/%d/members/%d"
                                % (world.other_team["id"], target), token=tok), 404, "not_found")
    assert_error(world.srv.call("POST", "/api/v1/teams", token=tok,
                                body={"name": unique("X"), "line_manager_id":
                                      world.accts["manager"].id}), 422, "invalid_field",
                 "line_manager_id")
    st, body, _ = world.srv.call("POST", "/api/v1/api-keys", token=tok,
                                 body={"name": "x", "user_id": target})
    assert st in (404, 422), (st, body)
    st, body, _ = world.srv.call("POST", "/api/v1/users", token=tok,
                                 body={"username": unique("x"), "display_name": "X",
                                       "roles": ["worker"], "team_ids": [world.team_a["id"]]})
    assert st == 422, (st, body)
    orgs = ok(world.srv.call("GET", "/api/v1/organisations", token=tok))["items"]
    assert [o["id"] for o in orgs] == [world.other_org["id"]]
    assert world.other_user.id not in {
        u["id"] for u in list_all(world.srv, "/api/v1/users", world.host_admin)}


def test_host_admin_sees_other_organisation_itself(world):
    body = ok(world.srv.call("GET", "/api/v1/organisations/%d" % world.other_org["id"],
                             token=world.host_admin))
    assert body["id"] == world.other_org["id"] and body["is_host"] is False
    for role in ROLES:
        if role == "admin":
            continue
        assert_error(world.srv.call("GET", "/api/v1/organisations/%d" % world.other_org["id"],
                                    token=token_of(world, role)), 404, "not_found")
        orgs = ok(world.srv.call("GET", "/api/v1/organisations", token=token_of(world, role)))
        assert [o["id"] for o in orgs["items"]] == [world.org_id]


def test_audit_events_stay_in_organisation(world):
    # the other organisation's admin reads personal data of its own user
    ok(world.srv.call("GET", "/api/v1/users/%d" % world.other_user.id,
                      token=world.other_admin.token))
    host_events = ok(world.srv.call("GET", "/api/v1/audit-events?limit=200",
                                    token=world.host_admin))["items"]
    assert all(e["actor_user_id"] != world.other_admin.id for e in host_events)
    assert all(not (e["target_type"] == "user" and e["target_id"] == world.other_user.id)
               for e in host_events)
    other_events = ok(world.srv.call("GET", "/api/v1/audit-events?limit=200",
                                     token=world.other_admin.token))["items"]
    assert any(e["action"] == "user.read_personal" and e["target_id"] == world.other_user.id
               for e in other_events)
    assert all(e["actor_user_id"] not in {a.id for a in world.accts.values()}
               for e in other_events)


# -- field layers -------------------------------------------------------------------------------


def check_layer(user, layer, who):
    want = LAYERS[layer]
    got = set(user)
    assert want <= got, "%s: missing %s in %r" % (who, sorted(want - got), user)
    extra = got & ((CONTACT | PERSONAL | PRIVATE) - want)
    assert not extra, "%s should see the %s layer but got %s: %r" % (who, layer, sorted(extra),
                                                                      user)


@pytest.mark.parametrize("role", ROLES)
def test_layers_of_team_member(world, role):
    user = ok(world.srv.call("GET", "/api/v1/users/%d" % world.accts["target"].id,
                             token=token_of(world, role)))
    layer = LAYER_OF_TEAM_MEMBER[role]
    check_layer(user, layer, role)
    if "email" in user:
        assert user["email"] == "t@example.org"
        assert user["phone"] == "+44 113 496 0000"
        assert [v["registration"] for v in user["vehicles"]] == ["TG1 1TG"]
    if "next_of_kin" in user:
        assert user["next_of_kin"]["name"] == "Kin Name"
    if "home_address" in user:
        assert user["home_address"] == "3 Secret Lane"


@pytest.mark.parametrize("role", ROLES)
def test_layers_of_stranger(world, role):
    user = ok(world.srv.call("GET", "/api/v1/users/%d" % world.accts["stranger"].id,
                             token=token_of(world, role)))
    check_layer(user, LAYER_OF_STRANGER[role], role)


@pytest.mark.parametrize("role", ROLES)
def test_layers_in_lists(world, role):
    users = {u["id"]: u for u in list_all(world.srv, "/api/v1/users", token_of(world, role))}
    check_layer(users[world.accts["target"].id], LAYER_OF_TEAM_MEMBER[role], role + " (list)")
    check_layer(users[world.accts["stranger"].id], LAYER_OF_STRANGER[role], role + " (list)")
    check_layer(users[world.accts[role].id], "private", role + " (self in list)")


@pytest.mark.parametrize("role", ROLES)
def test_layers_of_self(world, role):
    acct = world.accts[role]
    user = ok(world.srv.call("GET", "/api/v1/users/%d" % acct.id, token=acct.token))
    check_layer(user, "private", role + " (self)")
    me = ok(world.srv.call("GET", "/api/v1/me", token=acct.token))
    check_layer(me["user"], "private", role + " (me)")


def test_layers_of_team_manager_after_membership_ends(world):
    """The line manager's view of a user ends when the user leaves the team."""
    srv, adm = world.srv, world.host_admin
    user, _ = create_user(srv, adm, unique("leaver"), ["worker"], team_ids=[world.team_a["id"]],
                          next_of_kin={"name": "N", "relation": "", "phone": "0113 496 0002"})
    mgr = world.accts["manager"].token
    check_layer(ok(srv.call("GET", "/api/v1/users/%d" % user["id"], token=mgr)), "personal",
                "manager")
    ok(srv.call("DELETE", "/api/v1/teams/%d/members/%d" % (world.team_a["id"], user["id"]),
                token=adm), 204)
    check_layer(ok(srv.call("GET", "/api/v1/users/%d" % user["id"], token=mgr)), "directory",
                "manager after removal")


def test_personal_reads_are_audited(world):
    """Every role that sees another user's next_of_kin leaves a user.read_personal event."""
    before = ok(world.srv.call("GET", "/api/v1/audit-events?limit=1",
                               token=world.host_admin))["items"][0]["id"]
    for role in ROLES:
        ep_read_other(world, role)
    items = ok(world.srv.call("GET", "/api/v1/audit-events?limit=200",
                              token=world.host_admin))["items"]
    new = [e for e in items if e["id"] > before and e["action"] == "user.read_personal"
           and e["target_id"] == world.accts["target"].id]
    actors = {e["actor_user_id"] for e in new}
    sees_personal = {world.accts[r].id for r in ROLES
                     if LAYER_OF_TEAM_MEMBER[r] in ("personal", "private")}
    assert actors == sees_personal, (actors, sees_personal)


def test_line_manager_cannot_add_other_organisation_user(world):
    for role, status, code in (("manager", 403, "forbidden"), ("admin", 404, "not_found")):
        assert_error(world.srv.call("PUT", "/api/v1/teams/%d/members/%d"
                                    % (world.team_a["id"], world.other_user.id),
                                    token=token_of(world, role)), status, code)
    team = ok(world.srv.call("GET", "/api/v1/teams/%d" % world.team_a["id"],
                             token=world.host_admin))
    assert world.other_user.id not in team["member_ids"]
    assert_error(world.srv.call("PATCH", "/api/v1/teams/%d" % world.team_a["id"],
                                token=world.host_admin,
                                body={"line_manager_id": world.other_user.id}),
                 422, "invalid_field", "line_manager_id")
