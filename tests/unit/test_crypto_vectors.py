"""design/crypto.md §7, §8a: the shared test vectors must be reproduced byte for byte by the protocol
package — crypto-v1.json (except its join tokens, which v1.1 supersedes) and every entry of crypto-v1.1.json."""

from __future__ import annotations

import pytest
from nacl.public import PrivateKey
from nacl.secret import Aead, SecretBox
from nacl.signing import SigningKey

from infrastructure.crypto import access_code_tag
from sprechzimmer_protocol import calls, codes, invites, keys, layouts, names
from sprechzimmer_protocol import primitives as p
from sprechzimmer_protocol.keyring import Keyring, KeyringHead

x = bytes.fromhex


def test_password_derivation(vectors: dict) -> None:
    v = vectors["password"]
    assert names.normalise_password(v["pw"]).hex() == v["nfkc_utf8"]
    root = p.argon2(names.normalise_password(v["pw"]), x(v["salt"]), v["ops"], v["mem"])
    assert root.hex() == v["pw_root"]
    assert p.kdf(root, "vdcpw_v1", 1).hex() == v["k_pw_seed"]
    assert keys.password_keys(v["pw"], x(v["salt"])).pk.hex() == v["pk_pw"]


def test_master_password_derivation_and_anchor(vectors: dict) -> None:
    v = vectors["master_password"]
    mp = keys.master_keys(v["mp"], x(v["salt"]))
    assert mp.sign_pk.hex() == v["mp_sign_pk"]
    assert mp.box_pk.hex() == v["mp_box_pk"]
    assert mp.anchor_key.hex() == v["k_anchor"]
    org_sign_pk = SigningKey(x(v["org_sign_seed"])).verify_key.encode()
    assert org_sign_pk.hex() == v["org_sign_pk"]
    assert mp.anchor(v["org_id"], org_sign_pk).hex() == v["anchor"]
    assert keys.mp_anchor(mp.anchor_key, v["org_id"], org_sign_pk, mp.sign_pk, mp.box_pk).hex() == v["anchor"]


def test_device_keys(vectors: dict) -> None:
    v = vectors["device"]
    device = keys.DeviceKeys.from_seed(x(v["dev_seed"]))
    assert device.sign_pk.hex() == v["dev_sign_pk"]
    assert device.box_pk.hex() == v["dev_box_pk"]


def test_login_transcript_and_signatures(vectors: dict) -> None:
    v = vectors["login"]
    _, org, user, device_id, _, origin = v["fields"]
    transcript = layouts.login(org, user, device_id, x(v["nonce"]), origin)
    assert transcript.hex() == v["transcript"]
    pw = keys.password_keys(vectors["password"]["pw"], x(vectors["password"]["salt"]))
    dev = keys.DeviceKeys.from_seed(x(vectors["device"]["dev_seed"]))
    assert p.sign(pw.signing, transcript).hex() == v["sig_pw"]
    assert p.sign(dev.signing, transcript).hex() == v["sig_dev"]
    assert p.verify(x(vectors["password"]["pk_pw"]), transcript, x(v["sig_pw"]))
    assert not p.verify(x(vectors["password"]["pk_pw"]), transcript + b"x", x(v["sig_pw"]))


def test_kdf(vectors: dict) -> None:
    for case in vectors["kdf"]:
        assert p.kdf(x(case["root"]), case["ctx"], case["id"]).hex() == case["out"]


def test_aead_and_secretbox_layout(vectors: dict) -> None:
    a = vectors["aead"]
    ct = Aead(x(a["key"])).encrypt(a["msg_utf8"].encode(), x(a["aad"]), nonce=x(a["nonce"]))
    assert bytes(ct).hex() == a["nonce_ct"]
    assert p.aead_decrypt(x(a["key"]), x(a["nonce_ct"]), x(a["aad"])).decode() == a["msg_utf8"]
    s = vectors["secretbox"]
    assert bytes(SecretBox(x(s["key"])).encrypt(s["msg_utf8"].encode(), x(s["nonce"]))).hex() == s["nonce_ct"]
    assert p.secretbox_decrypt(x(s["key"]), x(s["nonce_ct"])).decode() == s["msg_utf8"]


def test_sealed_box_opens(vectors: dict) -> None:
    v = vectors["sealed_box"]
    recipient = PrivateKey.from_seed(p.kdf(x(v["recipient_seed"]), "vdcdv_v1", 2))
    assert bytes(recipient.public_key).hex() == v["recipient_box_pk"]
    assert p.unseal(recipient, x(v["sealed"])).decode() == v["plaintext_utf8"]


def test_access_codes(vectors: dict) -> None:
    v = vectors["access_code"]
    assert v["alphabet"] == codes.CROCKFORD
    for case in v["codes"]:
        assert codes.encode_code(x(case["random8"])) == case["code"]
    for case in v["normalise"]:
        assert codes.normalise_code(case["input"]) == case["normalised"]
    for bad in v["invalid"]:
        with pytest.raises(ValueError):
            codes.normalise_code(bad)


def test_sdp_mac(vectors: dict) -> None:
    m = vectors["sdp_mac_example"]
    mac = calls.sdp_mac(x(m["k_call"]), m["appointment_id"], m["role"], m["fingerprint_lines_sorted"], m["ice_ufrag"])
    assert mac.hex() == m["mac"]


def test_pairing_tags(vectors: dict) -> None:
    v = vectors["pairing"]
    k_pair = keys.pairing_key(v["code"], v["org_id"], v["device_id"])
    assert k_pair.hex() == v["k_pair"]
    dev = keys.DeviceKeys.from_seed(x(vectors["device"]["dev_seed"]))
    tag_b = keys.pairing_tag_new_device(k_pair, v["org_id"], v["device_id"], v["device_name"], dev.sign_pk, dev.box_pk)
    assert tag_b.hex() == v["tag_new_device"]
    org_sign_pk = x(vectors["master_password"]["org_sign_pk"])
    tag_a = keys.pairing_tag_approver(k_pair, v["org_id"], v["device_id"], org_sign_pk)
    assert tag_a.hex() == v["tag_approver"]


# --- v1.1 (design/crypto.md §8a) --------------------------------------------------------------------


def test_org_box_key_pair_is_derived_from_the_seed(vectors_v11: dict) -> None:
    """§8a.1: crypto_box_seed_keypair(org_box_seed), not the seed as the scalar."""
    v = vectors_v11["org_box"]
    keyring = Keyring(1, "org", bytes(32), x(v["org_box_seed"]), {1: bytes(32)})
    assert keyring.box_pk.hex() == v["org_box_pk"]
    assert keyring.box_pk.hex() != v["wrong_raw_scalar_pk"]
    assert bytes(PrivateKey(x(v["org_box_seed"])).public_key).hex() == v["wrong_raw_scalar_pk"]  # what v1 did


def test_short_names(vectors_v11: dict) -> None:
    """§8a.2: the allowed alphabet, 2–32 characters after trimming, key = NFC(trim) lower-cased with ß → ss."""
    for case in vectors_v11["short_names"]:
        key = names.short_name_key(case["input"]) if names.is_short_name(case["input"]) else None
        assert key == case["key"], case["input"]


def test_join_tokens_tags_and_call_keys(vectors_v11: dict) -> None:
    """§8a.4: s = Argon2id(normalised code), join = h(join, s), k_call from s; the server's tag of join."""
    assert calls.JOIN_SALT.hex() == vectors_v11["join_salt"]
    pepper = bytes(range(32))
    for case in vectors_v11["join_tokens"]:
        assert codes.normalise_code(case["code"]) == case["normalised"]
        secret = calls.join_secret(case["code"])
        assert secret.hex() == case["secret"]
        assert calls.join_token_from_secret(secret).hex() == case["join"]
        assert calls.call_key_from_secret(secret).hex() == case["k_call_if_patient_code"]
        assert access_code_tag(x(case["join"]), pepper).hex() == case["tag_with_pepper_00_1f"]
    first = vectors_v11["join_tokens"][0]
    assert calls.join_token(first["code"]).hex() == first["join"]
    assert calls.call_key(first["code"]).hex() == first["k_call_if_patient_code"]


def test_code_secrets_derive_once_per_code(vectors_v11: dict) -> None:
    """Clients cache s per code: the same code in another spelling is the same entry."""
    first = vectors_v11["join_tokens"][0]
    memo = calls.CodeSecrets(size=2)
    assert memo.join_token(first["code"]).hex() == first["join"]
    assert memo.call_key(first["normalised"].lower()).hex() == first["k_call_if_patient_code"]
    assert len(memo._secrets) == 1
    with pytest.raises(ValueError):
        memo.join_token("ABC")


def test_invite_token_and_proof(vectors_v11: dict) -> None:
    """§8a.10: s_inv, invite_token, the proof key and the proof over (org, user key, pk_pw)."""
    v = vectors_v11["invite"]
    assert invites.INVITE_SALT.hex() == v["salt"]
    secret = invites.invite_secret(v["code"])
    assert secret.hex() == v["secret"]
    assert invites.invite_token_from_secret(secret).hex() == v["invite_token"]
    assert invites.invite_token(v["code"]).hex() == v["invite_token"]
    assert invites.invite_proof_key(secret).hex() == v["proof_key"]
    proof = invites.invite_proof(secret, v["org_id"], v["user_key"], x(v["pk_pw"]))
    assert proof.hex() == v["proof"]
    assert invites.check_invite_proof(secret, v["org_id"], v["user_key"], x(v["pk_pw"]), x(v["proof"]))
    assert not invites.check_invite_proof(secret, v["org_id"], "someone-else", x(v["pk_pw"]), x(v["proof"]))


def test_keyring_head(vectors_v11: dict) -> None:
    """§8a.11: the org signs lp("vdc/v1/keyring-head", org_id, version, rotated_at) at every rotation."""
    v = vectors_v11["keyring_head"]
    assert layouts.keyring_head(v["org_id"], v["version"], v["rotated_at"]).hex() == v["message"]
    keyring = Keyring(v["version"], v["org_id"], x(v["org_sign_seed"]), bytes(32), {v["version"]: bytes(32)})
    assert keyring.sign_pk.hex() == v["org_sign_pk"]
    head = keyring.head(v["rotated_at"])
    assert head.sig.hex() == v["signature"]  # Ed25519 is deterministic
    wire = KeyringHead.from_wire(v["org_id"], head.to_wire())
    assert wire == head and wire.verifies(x(v["org_sign_pk"]))
    assert not KeyringHead(v["org_id"], v["version"] - 1, v["rotated_at"], head.sig).verifies(x(v["org_sign_pk"]))
