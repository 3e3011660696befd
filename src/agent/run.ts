// Starting and stopping a whole agent (agent + health endpoint), for `netvpp agent` and the demo.
import { configureLog } from '../util/log.ts';
import { Agent, type AgentOptions } from './agent.ts';
import type { AgentConfig } from './config.ts';
import { startHealthServer, type HealthServer } from './health.ts';
import { agentMetrics } from './metrics.ts';

export interface RunningAgent {
  agent: Agent;
  /** null when the health endpoint is off. */
  health: HealthServer | null;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, opts: AgentOptions = {}): Promise<RunningAgent> {
  configureLog({ level: config.logLevel, ...config.log });
  const agent = new Agent(config, opts);
  let health: HealthServer | null = null;
  if (config.health) {
    health = await startHealthServer(
      config.health.host,
      config.health.port,
      () => agent.health(),
      agentMetrics(agent),
    );
  }
  agent.start();
  return {
    agent,
    health,
    async stop() {
      await health?.close();
      await agent.stop();
    },
  };
}
