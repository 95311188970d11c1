<?php
// Check a Standard Webhooks signature as a qyshook receiver would (no extensions beyond core).
//
//   php verify.php SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE
//
// Prints "valid" (exit 0) or "invalid: reason" (exit 1). In a handler, read
// php://input as is before decoding it, and drop a webhook-id already processed.

function verify_webhook(string $secret, string $id, string $timestamp, string $signatures, string $body, ?int $now = null): void {
    if (str_starts_with($secret, 'whsec_')) {
        $secret = substr($secret, 6);
    }
    $key = base64_decode($secret, true);
    if ($key === false) {
        throw new Exception('secret is not base64');
    }
    $now = $now ?? time();
    if (!ctype_digit($timestamp) || abs($now - (int)$timestamp) > 300) {
        throw new Exception('webhook-timestamp is more than 5 minutes from now');
    }
    $want = base64_encode(hash_hmac('sha256', $id . '.' . $timestamp . '.' . $body, $key, true));
    foreach (preg_split('/\s+/', trim($signatures)) as $sig) {
        $parts = explode(',', $sig, 2);
        if (count($parts) === 2 && $parts[0] === 'v1' && hash_equals($want, $parts[1])) {
            return;
        }
    }
    throw new Exception('no matching v1 signature');
}

if ($argc !== 6) {
    fwrite(STDERR, "usage: verify.php SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE\n");
    exit(2);
}
try {
    verify_webhook($argv[1], $argv[2], $argv[3], $argv[4], file_get_contents($argv[5]));
} catch (Exception $e) {
    echo 'invalid: ', $e->getMessage(), "\n";
    exit(1);
}
echo "valid\n";
