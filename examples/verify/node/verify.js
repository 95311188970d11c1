// Check a qyshook delivery with the Standard Webhooks project's own
// JavaScript library (npm package "standardwebhooks"): the third-party
// verifier of the tests.
//
//   node verify.js SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const [secret, id, timestamp, signature, bodyFile] = process.argv.slice(2);
if (!bodyFile) {
  console.error("usage: node verify.js SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE");
  process.exit(2);
}
const body = fs.readFileSync(bodyFile, "utf8");
try {
  new Webhook(secret).verify(body, {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signature,
  });
} catch (e) {
  console.log("invalid: " + e.message);
  process.exit(1);
}
console.log("valid");
