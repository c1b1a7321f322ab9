import type { RowDataPacket } from 'mysql2/promise';
import type { InstanceReader, InstanceSnapshot, ProvisionedInstance } from '../../core/ports.js';
import { readOptionFile } from './option-file.js';
import { MysqlSession } from './session.js';

/** The server's own schemas: each instance has its own, whatever the data. */
const SYSTEM = ['mysql', 'information_schema', 'performance_schema', 'sys'];
const NOT_SYSTEM = `NOT IN (${SYSTEM.map((s) => `'${s}'`).join(', ')})`;

const ident = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

/**
 * Reads what a drill compares: every user table's `CHECKSUM TABLE … EXTENDED` (a sum of the rows'
 * CRCs, so row order does not matter and tables without a primary key compare as well), its row
 * count and column definitions; the definitions of routines, triggers, events and views.
 */
export class MysqlInstanceReader implements InstanceReader {
  public async snapshot(instance: ProvisionedInstance): Promise<InstanceSnapshot> {
    const options = await readOptionFile(instance.defaultsFile);
    const { socket, host, port, user } = instance;
    const session = await MysqlSession.connect({ ...options, ...(socket ? { socket } : { host, port }), user });
    try {
      const tables: InstanceSnapshot['tables'] = {};
      const listed = await session.query<RowDataPacket>(
        `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA ${NOT_SYSTEM} ORDER BY 1, 2`,
      );
      const columns = await session.query<RowDataPacket>(
        `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, GROUP_CONCAT(CONCAT_WS(' ', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, 'NULL'), EXTRA) ORDER BY ORDINAL_POSITION SEPARATOR ', ') AS columns
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA ${NOT_SYSTEM} GROUP BY TABLE_SCHEMA, TABLE_NAME`,
      );
      const columnsOf = new Map(columns.map((c) => [`${String(c.db)}.${String(c.name)}`, String(c.columns)]));
      const keyed = await session.query<RowDataPacket>(
        `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_TYPE = 'PRIMARY KEY' AND TABLE_SCHEMA ${NOT_SYSTEM}`,
      );
      const withKey = new Set(keyed.map((k) => `${String(k.db)}.${String(k.name)}`));
      for (const t of listed) {
        const name = `${String(t.db)}.${String(t.name)}`;
        const qualified = `${ident(String(t.db))}.${ident(String(t.name))}`;
        const [sum] = await session.query<RowDataPacket>(`CHECKSUM TABLE ${qualified} EXTENDED`);
        const [count] = await session.query<RowDataPacket>(`SELECT COUNT(*) AS n FROM ${qualified}`);
        tables[name] = { checksum: String(sum?.Checksum ?? ''), rows: Number(count?.n ?? 0), columns: columnsOf.get(name) ?? '', primaryKey: withKey.has(name) };
      }
      const definitions: InstanceSnapshot['definitions'] = {};
      const add = (rows: RowDataPacket[], kind: (r: RowDataPacket) => string): void => {
        for (const r of rows) definitions[`${kind(r)} ${String(r.db)}.${String(r.name)}`] = String(r.definition);
      };
      add(
        await session.query<RowDataPacket>(
          `SELECT ROUTINE_SCHEMA AS db, ROUTINE_NAME AS name, ROUTINE_TYPE AS type, CONCAT_WS(' | ', ROUTINE_DEFINITION, DTD_IDENTIFIER, SQL_MODE, SECURITY_TYPE, DEFINER) AS definition FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA ${NOT_SYSTEM}`,
        ),
        (r) => String(r.type).toLowerCase(),
      );
      add(
        await session.query<RowDataPacket>(
          `SELECT TRIGGER_SCHEMA AS db, TRIGGER_NAME AS name, CONCAT_WS(' | ', ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_ORDER, ACTION_STATEMENT, SQL_MODE, DEFINER) AS definition FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA ${NOT_SYSTEM}`,
        ),
        () => 'trigger',
      );
      add(
        await session.query<RowDataPacket>(
          // A replica marks the events it replicated SLAVESIDE_DISABLED; the restore puts back ENABLED/DISABLED.
          `SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name, CONCAT_WS(' | ', EVENT_DEFINITION, EVENT_TYPE, INTERVAL_VALUE, INTERVAL_FIELD, STATUS, ON_COMPLETION, SQL_MODE, DEFINER) AS definition FROM information_schema.EVENTS WHERE EVENT_SCHEMA ${NOT_SYSTEM}`,
        ),
        () => 'event',
      );
      add(
        await session.query<RowDataPacket>(
          `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, CONCAT_WS(' | ', VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE, DEFINER) AS definition FROM information_schema.VIEWS WHERE TABLE_SCHEMA ${NOT_SYSTEM}`,
        ),
        () => 'view',
      );
      return { tables, definitions };
    } finally {
      await session.close();
    }
  }
}
