// The notification subgraph's own settings (NOTIFICATION_*), read from the same environment as
// the shared Config (lib/config.ts), once at startup (createNotificationApp).
import { bool, defineSettings, int } from '../../../lib/config.js';

export const notificationSettings = defineSettings({
  /** Events the consumers work on at once per process (per stream). */
  NOTIFICATION_CONSUMER_CONCURRENCY: int(8),
  /** Run the consumers inside the notification service (off when notification-workers run them). */
  NOTIFICATION_CONSUMERS: bool(true),
  /** Unacked events are redelivered after this long (a crashed worker's work resumes then). */
  NOTIFICATION_ACK_WAIT_SECONDS: int(30),
});

export type NotificationSettings = ReturnType<typeof notificationSettings>;
