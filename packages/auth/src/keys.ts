/** Signing keys: EdDSA (Ed25519) or ES256 (P-256), generated or imported from PEM. */
import type { KeyObject, webcrypto } from "node:crypto";
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI } from "jose";

export type Algorithm = "EdDSA" | "ES256";

/** A key as jose takes it (a WebCrypto CryptoKey or a Node KeyObject). */
export type Key = webcrypto.CryptoKey | KeyObject;

export interface KeyPair {
  algorithm: Algorithm;
  privateKey: Key;
  publicKey: Key;
}

/** A fresh key pair. @default algorithm "EdDSA" */
export async function generateKeys(algorithm: Algorithm = "EdDSA"): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(algorithm, { extractable: true });
  return { algorithm, privateKey, publicKey };
}

/** PEM text of a pair: the public key (SPKI) for verifiers, the private key (PKCS#8) for the issuer only. */
export async function exportKeys(pair: KeyPair): Promise<{ publicKey: string; privateKey: string }> {
  return {
    publicKey: await exportSPKI(pair.publicKey as webcrypto.CryptoKey),
    privateKey: await exportPKCS8(pair.privateKey as webcrypto.CryptoKey),
  };
}

/** Keys from PEM text; pass only `publicKey` on services that verify and never issue. */
export async function importKeys(
  algorithm: Algorithm,
  pem: { publicKey: string; privateKey?: string },
): Promise<{ algorithm: Algorithm; publicKey: Key; privateKey?: Key }> {
  const publicKey = await importSPKI(pem.publicKey, algorithm);
  if (pem.privateKey === undefined) return { algorithm, publicKey };
  return { algorithm, publicKey, privateKey: await importPKCS8(pem.privateKey, algorithm) };
}
