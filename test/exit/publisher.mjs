// Publishes one message on the process default broker (MICRO_BROKER), closes the client, and
// must then exit by itself: run by exit.test.ts. Usage: node publisher.mjs <topic>
import { background, defaultClient, newMessage, withTimeout } from "tsmicro";

const ctx = withTimeout(background(), 5000);
try {
  await defaultClient.publish(ctx, newMessage(process.argv[2], { n: 1 }));
  console.log("published");
} finally {
  await defaultClient.close();
}
