// Where a resume may start. A binlog is a sequence of event groups (a transaction, or one
// standalone statement such as a DDL); resuming from inside a group would skip its TABLE_MAP or
// half of its rows. This tracker follows group boundaries and answers, after each event, with
// the position right after it when that position is between groups.
//
// Boundaries: a group starts with a GTID event (MariaDB's carries a "standalone" flag for
// statements that are a group by themselves) or a BEGIN query, and ends with an XID, a COMMIT or
// ROLLBACK query, an XA PREPARE, or, for a standalone group, its one statement. Events outside
// any group (rotations, format descriptions, GTID lists, binlog checkpoints, heartbeats) are
// boundaries too: they matter when the source's final position, read at cutover, sits after
// them rather than after a commit.
import { GtidSet, MariadbGtidPosition } from '@vlasky/zongji';
import { compareBinlogPositions, type BinlogPosition } from '../position.js';

/** What the tracker needs to know of an event (see streamer.ts, which reads them). */
export type GroupEvent =
  | { readonly kind: 'rotate'; readonly file: string; readonly position: number }
  | { readonly kind: 'mariadb-gtid'; readonly standalone: boolean; readonly xa: boolean; readonly domainId: number; readonly serverId: number; readonly seqNo: bigint }
  | { readonly kind: 'mysql-gtid'; readonly gtid: string | undefined }
  | { readonly kind: 'query'; readonly statement: string; readonly nextPosition: number }
  | { readonly kind: 'commit'; readonly nextPosition: number }
  | { readonly kind: 'rows' }
  | { readonly kind: 'heartbeat'; readonly file: string; readonly nextPosition: number }
  | { readonly kind: 'other'; readonly nextPosition: number };

type GtidState =
  | { readonly flavour: 'mariadb'; readonly position: MariadbGtidPosition; pending?: { domainId: number; serverId: number; seqNo: number | string } }
  | { readonly flavour: 'mysql'; readonly set: GtidSet; pending?: string };

function parseGtidState(text: string | undefined): GtidState | undefined {
  if (text === undefined) return undefined;
  try {
    return text.includes(':') ? { flavour: 'mysql', set: GtidSet.parse(text) } : { flavour: 'mariadb', position: MariadbGtidPosition.parse(text) };
  } catch {
    return undefined;
  }
}

const startsXa = (statement: string): boolean => /^XA\s+(START|BEGIN)\b/i.test(statement);

export class EventGroupTracker {
  private file: string;
  private last: BinlogPosition;
  private groupOpen = false;
  private transactionOpen = false;
  private xa = false;
  private readonly gtids: GtidState | undefined;

  /** `start` must be a group boundary (a position the stream was started from). */
  constructor(start: BinlogPosition) {
    this.file = start.file;
    this.last = start;
    this.gtids = parseGtidState(start.gtid);
  }

  /** True between the first event of a group and its end. */
  get insideGroup(): boolean {
    return this.groupOpen;
  }

  /** True inside an XA transaction's group (XA START … XA PREPARE), whose outcome the binlog gives only later. */
  get insideXa(): boolean {
    return this.xa;
  }

  /** The binlog file the stream is in. */
  get currentFile(): string {
    return this.file;
  }

  /** The resume point right after the event, when that is a group boundary past the last one. */
  observe(event: GroupEvent): BinlogPosition | undefined {
    switch (event.kind) {
      case 'rotate':
        this.file = event.file;
        return this.groupOpen ? undefined : this.advance(event.position);
      case 'mariadb-gtid':
        this.openGroup(!event.standalone);
        this.xa = event.xa;
        if (this.gtids?.flavour === 'mariadb') this.gtids.pending = { domainId: event.domainId, serverId: event.serverId, seqNo: event.seqNo.toString() };
        return undefined;
      case 'mysql-gtid':
        this.openGroup(false);
        if (this.gtids?.flavour === 'mysql' && event.gtid) this.gtids.pending = event.gtid;
        return undefined;
      case 'query': {
        const statement = event.statement.trim().toUpperCase();
        if (statement === 'BEGIN' || startsXa(statement)) {
          if (startsXa(statement)) this.xa = true;
          this.openGroup(true);
          return undefined;
        }
        // Inside BEGIN … COMMIT only COMMIT or ROLLBACK ends the group (not SAVEPOINT, not
        // ROLLBACK TO SAVEPOINT); outside it, the statement is a group by itself.
        if (this.transactionOpen && statement !== 'COMMIT' && statement !== 'ROLLBACK') return undefined;
        return this.closeGroup(event.nextPosition);
      }
      case 'commit':
        return this.closeGroup(event.nextPosition);
      case 'rows':
        // Row events always belong to a group, even if its start was not recognised.
        this.groupOpen = true;
        return undefined;
      case 'heartbeat':
        if (this.groupOpen || event.file !== this.file) return undefined;
        return this.advance(event.nextPosition);
      case 'other':
        return this.groupOpen ? undefined : this.advance(event.nextPosition);
    }
  }

  private openGroup(transaction: boolean): void {
    this.groupOpen = true;
    this.transactionOpen = transaction;
  }

  private closeGroup(nextPosition: number): BinlogPosition | undefined {
    this.groupOpen = false;
    this.transactionOpen = false;
    this.xa = false;
    if (this.gtids?.flavour === 'mariadb' && this.gtids.pending) this.gtids.position.add(this.gtids.pending);
    if (this.gtids?.flavour === 'mysql' && this.gtids.pending) this.gtids.set.add(this.gtids.pending);
    if (this.gtids) this.gtids.pending = undefined;
    return this.advance(nextPosition);
  }

  // Only forward: the format description resent at the start of a dump carries a position from
  // the file's beginning (or 0), which must not move the resume point back.
  private advance(nextPosition: number): BinlogPosition | undefined {
    if (!(nextPosition > 0)) return undefined;
    const candidate: BinlogPosition = { file: this.file, position: nextPosition, gtid: this.gtidText() };
    if (compareBinlogPositions(candidate, this.last) <= 0) return undefined;
    this.last = candidate;
    return candidate;
  }

  private gtidText(): string | undefined {
    if (!this.gtids) return undefined;
    return this.gtids.flavour === 'mariadb' ? this.gtids.position.toString() : this.gtids.set.toString();
  }
}
