"""sprechzimmer users list|add|invite|redeem|reset-password|role|deactivate|reactivate,
sprechzimmer password change, sprechzimmer masterpassword change, sprechzimmer recover --org ORG.
Secrets come from the environment (scripts) or prompts, never from the command line."""

from __future__ import annotations

import argparse
from typing import Any

from interfaces.cli.common import ORG_HELP, client, logged_in, login_options, org_of, secret, who
from interfaces.client import users
from interfaces.client.recovery import recover

NEW_PASSWORD_ENV = "SPRECHZIMMER_NEW_PASSWORD"


def cmd_list(args: argparse.Namespace) -> int:
    for u in users.list_users(logged_in(args)):
        state = "aktiv" if u["active"] else "deaktiviert"
        print(f"{u['user_short']:24} {u['role']:6} {state}" + ("" if u["certified"] else " (Zertifikat ausstehend)"))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    c = logged_in(args)
    users.add_user(c, args.new_user, args.role, secret("Passwort des neuen Benutzers (tippt er selbst): ",
                                                       NEW_PASSWORD_ENV))
    print(f"Benutzer {args.new_user} ({args.role}) angelegt.")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    code = users.invite(logged_in(args), args.new_user, args.role)
    print(f"Einladungscode für {args.new_user} (72 Stunden gültig, einmalig): {code}")
    return 0


def cmd_redeem(args: argparse.Namespace) -> int:
    code = secret("Einladungscode: ", "SPRECHZIMMER_INVITE_CODE")
    org, user = who(args)
    pairing = users.redeem_invite(client(), org, user, code, secret("Neues Passwort: ", NEW_PASSWORD_ENV),
                                  args.name)
    print("Einladung angenommen. Kopplungscode für die Freigabe dieses Geräts:")
    print(f"  {pairing}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    users.reset_password(logged_in(args), args.target, secret("Neues Passwort (tippt der Benutzer): ",
                                                                      NEW_PASSWORD_ENV))
    print(f"Passwort von {args.target} neu gesetzt; seine Sitzungen wurden beendet.")
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    users.set_role(logged_in(args), args.target, args.role)
    print(f"Benutzer {args.target} hat jetzt die Rolle {args.role}.")
    return 0


def cmd_active(args: argparse.Namespace) -> int:
    users.set_active(logged_in(args), args.target, args.command_name == "reactivate")
    print(f"Benutzer {args.target} " + ("reaktiviert." if args.command_name == "reactivate" else "deaktiviert."))
    return 0


def cmd_password(args: argparse.Namespace) -> int:
    old = secret("Bisheriges Passwort: ")
    c = logged_in(args, password=old)
    ended = users.change_password(c, old, secret("Neues Passwort: ", NEW_PASSWORD_ENV))
    print(f"Passwort geändert. Andere Sitzungen beendet: {ended}.")
    return 0


def cmd_master(args: argparse.Namespace) -> int:
    c = logged_in(args)
    ended = users.change_master(c, secret("Bisheriges Masterpasswort: ", "SPRECHZIMMER_MASTER_PASSWORD"),
                                secret("Neues Masterpasswort: ", "SPRECHZIMMER_NEW_MASTER_PASSWORD"))
    print(f"Masterpasswort geändert. Andere Sitzungen beendet: {ended}. Die Administratoren wurden benachrichtigt.")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    master = secret("Masterpasswort: ", "SPRECHZIMMER_MASTER_PASSWORD")
    new_password = secret("Neues Passwort für " + args.user + ": ", NEW_PASSWORD_ENV) if args.user else None
    done = recover(client(), org_of(args), master, args.name, args.user, new_password, args.unlock)
    print(f"Wiederhergestellt: dieses Gerät ({done.device_id}) ist freigegeben. {done.keyring_stand()}.")
    if done.user_short:
        print(f"Neues Passwort für {done.user_short} gesetzt. Bitte jetzt mit `sprechzimmer login` anmelden.")
    return 0


def add_commands(sub: Any) -> None:
    u = sub.add_parser("users", help="Benutzer").add_subparsers(dest="action", required=True)
    p = u.add_parser("list", help="Benutzer anzeigen")
    login_options(p)
    p.set_defaults(func=cmd_list)
    p = u.add_parser("add", help="Benutzer anlegen (der Mitarbeiter tippt sein Passwort selbst)")
    login_options(p)
    p.add_argument("new_user")
    p.add_argument("--role", choices=("admin", "staff"), default="staff")
    p.set_defaults(func=cmd_add)
    p = u.add_parser("invite", help="Einladungscode erzeugen (neuer Benutzer oder Passwort-Reset)")
    login_options(p)
    p.add_argument("new_user")
    p.add_argument("--role", choices=("admin", "staff"), default="staff")
    p.set_defaults(func=cmd_invite)
    p = u.add_parser("redeem", help="Einladung auf diesem Gerät annehmen")
    login_options(p)
    p.add_argument("--name", required=True, help="Gerätename")
    p.set_defaults(func=cmd_redeem)
    p = u.add_parser("reset-password", help="Passwort eines Mitarbeiters vor Ort neu setzen")
    login_options(p)
    p.add_argument("target")
    p.set_defaults(func=cmd_reset)
    p = u.add_parser("role", help="Rolle eines Benutzers ändern")
    login_options(p)
    p.add_argument("target")
    p.add_argument("--role", choices=("admin", "staff"), required=True)
    p.set_defaults(func=cmd_role)
    for name, help_text in (("deactivate", "Benutzer deaktivieren"), ("reactivate", "Benutzer reaktivieren")):
        p = u.add_parser(name, help=help_text)
        login_options(p)
        p.add_argument("target")
        p.set_defaults(func=cmd_active, command_name=name)

    pw = sub.add_parser("password", help="Passwort").add_subparsers(dest="action", required=True)
    p = pw.add_parser("change", help="Eigenes Passwort ändern (SPRECHZIMMER_NEW_PASSWORD)")
    login_options(p)
    p.set_defaults(func=cmd_password)
    mp = sub.add_parser("masterpassword", help="Masterpasswort").add_subparsers(dest="action", required=True)
    p = mp.add_parser("change", help="Masterpasswort ändern")
    login_options(p)
    p.set_defaults(func=cmd_master)
    p = sub.add_parser("recover", help="Mit dem Masterpasswort auf diesem Gerät wiederherstellen")
    p.add_argument("--org", help=ORG_HELP)
    # No default from the last login here: naming a user sets a new password for them.
    p.add_argument("--user", help="Kurzname des Benutzers, dessen Passwort neu gesetzt wird")
    p.add_argument("--name", default="Wiederherstellung", help="Name dieses Geräts")
    p.add_argument("--unlock", metavar="CODE", help="Einmal-Code aus der Warn-Mail: lässt den Versuch trotz Sperre zu")
    p.set_defaults(func=cmd_recover)
