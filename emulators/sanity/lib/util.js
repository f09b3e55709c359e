'use strict'

const crypto = require('node:crypto')

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Random id in the style of Sanity's transaction/revision ids (22 base62 chars). */
function randomId(len = 22) {
  const bytes = crypto.randomBytes(len)
  let out = ''
  for (let i = 0; i < len; i++) out += BASE62[bytes[i] % 62]
  return out
}

/** ISO-8601 timestamp without milliseconds, as Sanity writes `_createdAt`/`_updatedAt`. */
function isoNow(date = new Date()) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function clone(value) {
  return value === undefined ? undefined : structuredClone(value)
}

function deepEqual(a, b) {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** `t=<ms>,v1=<base64url(HMAC-SHA256(secret, "<t>.<body>"))>` — Sanity's webhook signature header. */
function signWebhook(secret, body, timestampMs) {
  const sig = crypto
    .createHmac('sha256', secret)
    .update(`${timestampMs}.${body}`, 'utf8')
    .digest('base64url')
  return `t=${timestampMs},v1=${sig}`
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

module.exports = {randomId, isoNow, clone, deepEqual, signWebhook, sleep}
