// Check a Standard Webhooks signature as a qyshook receiver would (JDK only).
//
//   javac Verify.java && java Verify SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE
//
// Prints "valid" (exit 0) or "invalid: reason" (exit 1). In a handler, read
// the raw body bytes before parsing them, and drop a webhook-id already processed.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Verify {
    static void verify(String secret, String id, String timestamp, String signatures, byte[] body, long now) throws Exception {
        if (secret.startsWith("whsec_")) {
            secret = secret.substring(6);
        }
        byte[] key = Base64.getDecoder().decode(secret);
        long ts = Long.parseLong(timestamp);
        if (Math.abs(now - ts) > 300) {
            throw new Exception("webhook-timestamp is more than 5 minutes from now");
        }
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
        byte[] want = mac.doFinal(body);
        for (String sig : signatures.trim().split("\\s+")) {
            String[] parts = sig.split(",", 2);
            if (parts.length == 2 && parts[0].equals("v1")) {
                byte[] got;
                try {
                    got = Base64.getDecoder().decode(parts[1]);
                } catch (IllegalArgumentException e) {
                    continue;
                }
                if (MessageDigest.isEqual(got, want)) {
                    return;
                }
            }
        }
        throw new Exception("no matching v1 signature");
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: java Verify SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE");
            System.exit(2);
        }
        byte[] body = Files.readAllBytes(Path.of(args[4]));
        try {
            verify(args[0], args[1], args[2], args[3], body, System.currentTimeMillis() / 1000);
        } catch (Exception e) {
            System.out.println("invalid: " + e.getMessage());
            System.exit(1);
        }
        System.out.println("valid");
    }
}
