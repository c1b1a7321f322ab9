import { appendFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirectories } from '../../core/files.js';
import { writingLocally } from '../../core/errors.js';
import type { Alert, Alerts } from '../../core/ports.js';

/** The local runtime's alerts: one JSON line each in `$BINVAULT_STATE_DIR/alerts.jsonl`, and a line on the console. */
export class FileAlerts implements Alerts {
  public constructor(
    private readonly path: string,
    private readonly print: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  public async publish(alert: Alert): Promise<void> {
    // Printed first: an alert log on a full disk must not silence the alert itself.
    this.print(`ALERT ${alert.type}${alert.state === 'cleared' ? ' cleared' : ''} [${alert.severity}] ${alert.host}: ${alert.message}`);
    await writingLocally('the alert log', dirname(this.path), async () => {
      await makeDirectories(dirname(this.path));
      await appendFile(this.path, `${JSON.stringify(alert)}\n`, { mode: 0o600 });
    });
  }
}
