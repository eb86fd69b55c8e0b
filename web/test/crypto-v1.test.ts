// The TypeScript protocol reproduces shared/vectors/crypto-v1.json byte for byte (less its superseded
// join_tokens, replaced by crypto-v1.1.json).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import {
  aeadDecrypt, aeadEncrypt, argon2Sync, boxKeyPair, CROCKFORD, deviceKeys, encodeCode, fromHex, fromUtf8, kdf,
  Keyring, lp, masterKeysFromRoot, mpAnchor, normaliseCode, normalisePassword, openGrant, pairingKey,
  pairingSalt, pairingTagApprover, pairingTagNewDevice, passwordKeysFromRoot, passwordLength, ready,
  secretboxDecrypt, secretboxEncrypt, sign, signKeyPair, toHex, transcripts, unseal, utf8, verify,
} from "../src/protocol/index";
import { load } from "./vectors";

const V = load("crypto-v1.json");

before(async () => {
  await ready();
});

describe("crypto-v1 password", () => {
  test("NFKC UTF-8, Argon2id root and the password signing key", () => {
    const p = V.password;
    assert.equal(toHex(normalisePassword(p.pw)), p.nfkc_utf8);
    const root = argon2Sync(normalisePassword(p.pw), fromHex(p.salt), p.ops, p.mem);
    assert.equal(toHex(root), p.pw_root);
    assert.equal(toHex(kdf(root, "vdcpw_v1", 1)), p.k_pw_seed);
    assert.equal(toHex(passwordKeysFromRoot(root).signing.publicKey), p.pk_pw);
  });

  test("the 8–32 rule counts code points after NFKC", () => {
    assert.equal(passwordLength("Müller😀"), 7);
    assert.equal(passwordLength("ﬁ"), 2); // NFKC expands the ligature
  });
});

describe("crypto-v1 master password and anchor", () => {
  test("master keys and anchor", () => {
    const m = V.master_password;
    const root = argon2Sync(normalisePassword(m.mp), fromHex(m.salt), m.ops, m.mem);
    assert.equal(toHex(root), m.mp_root);
    const keys = masterKeysFromRoot(root);
    assert.equal(toHex(keys.signing.publicKey), m.mp_sign_pk);
    assert.equal(toHex(keys.box.publicKey), m.mp_box_pk);
    assert.equal(toHex(keys.anchorKey), m.k_anchor);
    const orgSignPk = signKeyPair(fromHex(m.org_sign_seed)).publicKey;
    assert.equal(toHex(orgSignPk), m.org_sign_pk);
    assert.equal(toHex(mpAnchor(keys.anchorKey, m.org_id, orgSignPk, keys.signing.publicKey, keys.box.publicKey)),
      m.anchor);
  });
});

describe("crypto-v1 device, login, kdf", () => {
  test("device keys from the seed", () => {
    const keys = deviceKeys(fromHex(V.device.dev_seed));
    assert.equal(toHex(keys.signing.publicKey), V.device.dev_sign_pk);
    assert.equal(toHex(keys.box.publicKey), V.device.dev_box_pk);
  });

  test("login transcript and both deterministic signatures", () => {
    const l = V.login;
    const [, org, user, deviceId, , origin] = l.fields;
    const transcript = transcripts.login(org, user, deviceId, fromHex(l.nonce), origin);
    assert.equal(toHex(transcript), l.transcript);
    const root = argon2Sync(normalisePassword(V.password.pw), fromHex(V.password.salt), 2, 67108864);
    const pw = passwordKeysFromRoot(root).signing;
    const dev = deviceKeys(fromHex(V.device.dev_seed)).signing;
    assert.equal(toHex(sign(pw, transcript)), l.sig_pw);
    assert.equal(toHex(sign(dev, transcript)), l.sig_dev);
    assert.ok(verify(pw.publicKey, transcript, fromHex(l.sig_pw)));
    assert.ok(!verify(dev.publicKey, transcript, fromHex(l.sig_pw)));
    assert.ok(!verify(new Uint8Array(3), transcript, fromHex(l.sig_pw)), "malformed keys never throw");
  });

  test("kdf subkeys", () => {
    for (const k of V.kdf) assert.equal(toHex(kdf(fromHex(k.root), k.ctx, k.id)), k.out, `${k.ctx}/${k.id}`);
  });

  test("lp refuses booleans and encodes integers as u64be", () => {
    assert.equal(toHex(lp(1)), "000000080000000000000001");
    assert.throws(() => lp(true as unknown as number));
  });
});

describe("crypto-v1 AEAD, SecretBox, SealedBox", () => {
  test("AEAD nonce ‖ ciphertext with AAD", () => {
    const a = V.aead;
    const out = aeadEncrypt(fromHex(a.key), utf8(a.msg_utf8), fromHex(a.aad), fromHex(a.nonce));
    assert.equal(toHex(out), a.nonce_ct);
    assert.equal(fromUtf8(aeadDecrypt(fromHex(a.key), fromHex(a.nonce_ct), fromHex(a.aad))), a.msg_utf8);
    const otherAad = fromHex(a.aad);
    otherAad[otherAad.length - 1] ^= 1;
    assert.throws(() => aeadDecrypt(fromHex(a.key), fromHex(a.nonce_ct), otherAad));
  });

  test("the record AAD of the vector is lp(label, org, appt, field, schema)", () => {
    const aad = lp("vdc/v1/appt", "7f1d3c0e-2b7a-4b61-9a55-0c5f3a9d2e11", "appt-77", "patient", 1);
    assert.equal(toHex(aad), V.aead.aad);
  });

  test("SecretBox", () => {
    const s = V.secretbox;
    assert.equal(toHex(secretboxEncrypt(fromHex(s.key), utf8(s.msg_utf8), fromHex(s.nonce))), s.nonce_ct);
    assert.equal(fromUtf8(secretboxDecrypt(fromHex(s.key), fromHex(s.nonce_ct))), s.msg_utf8);
  });

  test("a PyNaCl SealedBox opens", () => {
    const b = V.sealed_box;
    const recipient = deviceKeys(fromHex(b.recipient_seed)).box;
    assert.equal(toHex(recipient.publicKey), b.recipient_box_pk);
    assert.equal(fromUtf8(unseal(recipient, fromHex(b.sealed))), b.plaintext_utf8);
  });
});

describe("crypto-v1 codes and pairing", () => {
  test("Crockford encoding of 60 bits", () => {
    assert.equal(V.access_code.alphabet, CROCKFORD);
    for (const c of V.access_code.codes) assert.equal(encodeCode(fromHex(c.random8)), c.code);
  });

  test("forgiving normalisation and refusals", () => {
    for (const n of V.access_code.normalise) assert.equal(normaliseCode(n.input), n.normalised);
    for (const bad of V.access_code.invalid) assert.equal(normaliseCode(bad), null);
  });

  test("pairing salt, key and both tags", async () => {
    const p = V.pairing;
    assert.equal(toHex(pairingSalt(p.org_id, p.device_id)), p.salt);
    const kPair = await pairingKey(p.code, p.org_id, p.device_id);
    assert.equal(toHex(kPair), p.k_pair);
    const dev = deviceKeys(fromHex(V.device.dev_seed));
    assert.equal(toHex(pairingTagNewDevice(kPair, p.org_id, p.device_id, p.device_name, dev.signing.publicKey,
      dev.box.publicKey)), p.tag_new_device);
    const orgSignPk = signKeyPair(fromHex(V.master_password.org_sign_seed)).publicKey;
    assert.equal(toHex(pairingTagApprover(kPair, p.org_id, p.device_id, orgSignPk)), p.tag_approver);
  });
});

describe("keyring grants (scheme)", () => {
  test("a grant verifies, opens, and refuses forgery and rollback", () => {
    const orgId = V.master_password.org_id;
    const keyring = Keyring.create(orgId);
    const device = deviceKeys(fromHex(V.device.dev_seed));
    const grant = { version: 1, ...keyring.grant("dev-9", device.box.publicKey) };
    const opened = openGrant(grant, orgId, "dev-9", keyring.signPk, device.box, 1);
    assert.equal(toHex(opened.dataKeys.get(1)!), toHex(keyring.dataKeys.get(1)!));
    assert.equal(toHex(opened.boxPk), toHex(boxKeyPair(keyring.orgBoxSeed).publicKey));
    // Anyone can seal: a keyring the server made itself has no org signature.
    const forged = Keyring.create(orgId);
    const fake = { version: 1, ...forged.grant("dev-9", device.box.publicKey) };
    assert.throws(() => openGrant(fake, orgId, "dev-9", keyring.signPk, device.box, 1), /nicht vertrauenswürdig/);
    assert.throws(() => openGrant(grant, orgId, "dev-9", keyring.signPk, device.box, 2), /nicht vertrauenswürdig/);
    assert.throws(() => openGrant(grant, orgId, "dev-other", keyring.signPk, device.box, 1));
  });
});
