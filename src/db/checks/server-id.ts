// Source and target must be different servers, and the server id tideferry's binlog client
// presents must not collide with the source's own or one of its replicas' (the source would
// drop the other connection).
import { PreflightError } from '../../errors.js';
import { type Check, variables } from './context.js';

export const serverIdCheck: Check = {
  name: 'server-id',
  async run({ source, target, binlogServerId }) {
    const sourceId = (await variables(source, ['server_id'])).get('server_id');
    const targetId = (await variables(target, ['server_id'])).get('server_id');
    if (sourceId === targetId) {
      throw new PreflightError(
        this.name,
        `source and target have the same server_id (${sourceId}): they must be different servers with distinct server_id values`,
      );
    }
    if (String(binlogServerId) === sourceId) {
      throw new PreflightError(this.name, `binlog.serverId ${binlogServerId} is the source's own server_id; choose another`);
    }
    const [hosts] = await source.query('SHOW SLAVE HOSTS').catch(() => [[]] as unknown as [unknown[]]);
    const taken = (hosts as { Server_id: number | string }[]).map((host) => String(host.Server_id));
    if (taken.includes(String(binlogServerId))) {
      throw new PreflightError(this.name, `binlog.serverId ${binlogServerId} is already used by a replica of the source; choose another`);
    }
  },
};
