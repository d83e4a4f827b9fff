import { HearthError } from '@hearth/shared';

/**
 * The bridge could not start: no broker answered, it refused the connection (credentials, client
 * id) or the subscription (ACL). Codes: `mqtt_unreachable`, `mqtt_refused`, `mqtt_subscribe_refused`.
 */
export class MqttError extends HearthError {
  override readonly name = 'MqttError';
}
