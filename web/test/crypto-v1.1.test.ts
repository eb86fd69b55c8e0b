// The TypeScript protocol reproduces every entry of shared/vectors/crypto-v1.1.json (design/crypto.md §8a).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import {
  accessCodeTag, argon2InThread, boxKeyPair, callKey, fromHex, inviteProof, inviteProofKey, inviteSalt, inviteSecret,
  inviteToken, joinSalt, joinSecret, joinToken, normaliseCode, ready, shortNameKey, shortNameProblem, signKeyPair,
  toHex, transcripts, verify, verifyKeyringHead, Keyring, descriptionMac, macLabel,
} from "../src/protocol/index";
import { load } from "./vectors";

const V = load("crypto-v1.1.json");
const PEPPER = Uint8Array.from({ length: 32 }, (_, i) => i);

before(async () => {
  await ready();
});

describe("crypto-v1.1", () => {
  test("org_box is crypto_box_seed_keypair(seed), not the raw scalar (item 1)", () => {
    const pk = toHex(boxKeyPair(fromHex(V.org_box.org_box_seed)).publicKey);
    assert.equal(pk, V.org_box.org_box_pk);
    assert.notEqual(pk, V.org_box.wrong_raw_scalar_pk);
    const keyring = new Keyring(1, "x", new Uint8Array(32), fromHex(V.org_box.org_box_seed), new Map());
    assert.equal(toHex(keyring.boxPk), V.org_box.org_box_pk);
  });

  test("short names: NFC, trimmed, lower-case, ß → ss; others refused with a German message (item 2)", () => {
    for (const s of V.short_names) {
      assert.equal(shortNameKey(s.input), s.key, JSON.stringify(s.input));
      assert.equal(shortNameProblem(s.input) === null, s.key !== null);
    }
    assert.match(shortNameProblem("Praxis Nord")!, /2 bis 32 Zeichen/);
  });

  test("join tokens: Argon2id secret, token, tag and k_call (item 4)", async () => {
    assert.equal(toHex(joinSalt()), V.join_salt);
    for (const j of V.join_tokens) {
      assert.equal(normaliseCode(j.code), j.normalised);
      const secret = await joinSecret(j.code, argon2InThread);
      assert.equal(toHex(secret), j.secret, j.code);
      const join = joinToken(secret);
      assert.equal(toHex(join), j.join);
      assert.equal(toHex(accessCodeTag(join, PEPPER)), j.tag_with_pepper_00_1f);
      assert.equal(toHex(callKey(secret)), j.k_call_if_patient_code);
    }
    await assert.rejects(joinSecret("04HM-ASW9-NF6", argon2InThread), /zwölfstelligen/);
  });

  test("invite: secret, token, proof key and proof (item 10)", async () => {
    const i = V.invite;
    assert.equal(toHex(inviteSalt()), i.salt);
    const secret = await inviteSecret(i.code, argon2InThread);
    assert.equal(toHex(secret), i.secret);
    assert.equal(toHex(inviteToken(secret)), i.invite_token);
    assert.equal(toHex(inviteProofKey(secret)), i.proof_key);
    assert.equal(toHex(inviteProof(secret, i.org_id, i.user_key, fromHex(i.pk_pw))), i.proof);
  });

  test("keyring head: message and signature (item 11)", () => {
    const k = V.keyring_head;
    const signing = signKeyPair(fromHex(k.org_sign_seed));
    assert.equal(toHex(signing.publicKey), k.org_sign_pk);
    assert.equal(toHex(transcripts.keyringHead(k.org_id, k.version, k.rotated_at)), k.message);
    const keyring = new Keyring(k.version, k.org_id, fromHex(k.org_sign_seed), new Uint8Array(32), new Map());
    assert.equal(keyring.head(k.rotated_at).sig, k.signature);
    assert.ok(verifyKeyringHead(signing.publicKey, k.org_id, k.version, k.rotated_at, fromHex(k.signature)));
    assert.ok(!verifyKeyringHead(signing.publicKey, k.org_id, k.version - 1, k.rotated_at, fromHex(k.signature)));
    assert.ok(verify(signing.publicKey, fromHex(k.message), fromHex(k.signature)));
  });

  test("SDP MAC covers sorted fingerprints and the one ufrag; malformed descriptions give none", async () => {
    const kCall = callKey(fromHex(V.join_tokens[0].secret));
    const sdp = "v=0\r\na=ice-ufrag:abcd\r\na=fingerprint:sha-256 BB\r\na=fingerprint:sha-256 AA\r\n";
    const swapped = "v=0\r\na=ice-ufrag:abcd\r\na=fingerprint:sha-256 AA\r\na=fingerprint:sha-256 BB\r\n";
    const label = macLabel("appt", false);
    assert.equal(toHex(descriptionMac(kCall, label, "patient", sdp)!), toHex(descriptionMac(kCall, label, "patient", swapped)!));
    assert.notEqual(toHex(descriptionMac(kCall, label, "patient", sdp)!),
      toHex(descriptionMac(kCall, macLabel("appt", true, "a", "b"), "patient", sdp)!));
    assert.equal(descriptionMac(kCall, label, "patient", "v=0\r\na=ice-ufrag:x\r\n"), null);
    assert.equal(descriptionMac(kCall, label, "patient", sdp + "a=ice-ufrag:other\r\n"), null);
  });
});
