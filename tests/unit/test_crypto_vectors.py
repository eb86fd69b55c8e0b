"""design/crypto.md §7: the shared test vectors must be reproduced byte for byte."""

from __future__ import annotations

import pytest
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from infrastructure import crypto as c

x = bytes.fromhex


def test_password_derivation(vectors: dict) -> None:
    v = vectors["password"]
    assert c.normalise_password(v["pw"]).hex() == v["nfkc_utf8"]
    root = c.argon2(c.normalise_password(v["pw"]), x(v["salt"]), v["ops"], v["mem"])
    assert root.hex() == v["pw_root"]
    assert c.kdf(root, "vdcpw_v1", 1).hex() == v["k_pw_seed"]
    keys = c.password_keys(v["pw"], x(v["salt"]))
    assert keys.signing.verify_key.encode().hex() == v["pk_pw"]


def test_master_password_derivation_and_anchor(vectors: dict) -> None:
    v = vectors["master_password"]
    keys = c.master_keys(v["mp"], x(v["salt"]))
    assert keys.signing.verify_key.encode().hex() == v["mp_sign_pk"]
    assert bytes(keys.box.public_key).hex() == v["mp_box_pk"]
    assert keys.anchor_key.hex() == v["k_anchor"]
    org_sign_pk = SigningKey(x(v["org_sign_seed"])).verify_key.encode()
    assert org_sign_pk.hex() == v["org_sign_pk"]
    anchor = c.mp_anchor(keys.anchor_key, v["org_id"], org_sign_pk, x(v["mp_sign_pk"]), x(v["mp_box_pk"]))
    assert anchor.hex() == v["anchor"]


def test_device_keys(vectors: dict) -> None:
    v = vectors["device"]
    keys = c.DeviceKeys.from_seed(x(v["dev_seed"]))
    assert keys.signing.verify_key.encode().hex() == v["dev_sign_pk"]
    assert bytes(keys.box.public_key).hex() == v["dev_box_pk"]


def test_login_transcript_and_signatures(vectors: dict) -> None:
    v = vectors["login"]
    _, org, user, device_id, _, origin = v["fields"]
    transcript = c.login_transcript(org, user, device_id, x(v["nonce"]), origin)
    assert transcript.hex() == v["transcript"]
    pw = c.password_keys(vectors["password"]["pw"], x(vectors["password"]["salt"]))
    dev = c.DeviceKeys.from_seed(x(vectors["device"]["dev_seed"]))
    assert c.sign(pw.signing, transcript).hex() == v["sig_pw"]
    assert c.sign(dev.signing, transcript).hex() == v["sig_dev"]
    assert c.verify(x(vectors["password"]["pk_pw"]), transcript, x(v["sig_pw"]))
    assert not c.verify(x(vectors["password"]["pk_pw"]), transcript + b"x", x(v["sig_pw"]))


def test_kdf(vectors: dict) -> None:
    for case in vectors["kdf"]:
        assert c.kdf(x(case["root"]), case["ctx"], case["id"]).hex() == case["out"]


def test_aead_and_secretbox_layout(vectors: dict) -> None:
    a = vectors["aead"]
    from nacl.secret import Aead, SecretBox

    ct = Aead(x(a["key"])).encrypt(a["msg_utf8"].encode(), x(a["aad"]), nonce=x(a["nonce"]))
    assert bytes(ct).hex() == a["nonce_ct"]
    assert c.aead_decrypt(x(a["key"]), x(a["nonce_ct"]), x(a["aad"])).decode() == a["msg_utf8"]
    s = vectors["secretbox"]
    assert bytes(SecretBox(x(s["key"])).encrypt(s["msg_utf8"].encode(), x(s["nonce"]))).hex() == s["nonce_ct"]
    assert c.secretbox_decrypt(x(s["key"]), x(s["nonce_ct"])).decode() == s["msg_utf8"]


def test_sealed_box_opens(vectors: dict) -> None:
    v = vectors["sealed_box"]
    recipient = PrivateKey.from_seed(c.kdf(x(v["recipient_seed"]), "vdcdv_v1", 2))
    assert bytes(recipient.public_key).hex() == v["recipient_box_pk"]
    assert c.unseal(recipient, x(v["sealed"])).decode() == v["plaintext_utf8"]


def test_access_codes(vectors: dict) -> None:
    v = vectors["access_code"]
    assert v["alphabet"] == c.CROCKFORD
    for case in v["codes"]:
        assert c.encode_code(x(case["random8"])) == case["code"]
    for case in v["normalise"]:
        assert c.normalise_code(case["input"]) == case["normalised"]
    for bad in v["invalid"]:
        with pytest.raises(ValueError):
            c.normalise_code(bad)


def test_join_tokens_tags_and_call_keys(vectors: dict) -> None:
    pepper = x(vectors["access_code"]["pepper"])
    for case in vectors["join_tokens"]["codes"]:
        join = c.join_token(case["code"])
        assert join.hex() == case["join"]
        assert c.access_code_tag(join, pepper).hex() == case["tag"]
        assert c.call_key(case["code"]).hex() == case["k_call_if_patient_code"]
    m = vectors["join_tokens"]["sdp_mac_example"]
    k_call = c.call_key(vectors["join_tokens"]["codes"][0]["code"])
    mac = c.sdp_mac(k_call, m["appointment_id"], m["role"], m["fingerprint_lines_sorted"], m["ice_ufrag"])
    assert mac.hex() == m["mac"]


def test_pairing_tags(vectors: dict) -> None:
    v = vectors["pairing"]
    k_pair = c.pairing_key(v["code"], v["org_id"], v["device_id"])
    assert k_pair.hex() == v["k_pair"]
    dev = c.DeviceKeys.from_seed(x(vectors["device"]["dev_seed"]))
    tag_b = c.pairing_tag_new_device(k_pair, v["org_id"], v["device_id"], v["device_name"],
                                     dev.signing.verify_key.encode(), bytes(dev.box.public_key))
    assert tag_b.hex() == v["tag_new_device"]
    org_sign_pk = x(vectors["master_password"]["org_sign_pk"])
    tag_a = c.pairing_tag_approver(k_pair, v["org_id"], v["device_id"], org_sign_pk)
    assert tag_a.hex() == v["tag_approver"]
