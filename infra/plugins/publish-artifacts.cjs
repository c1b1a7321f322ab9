// After `osls deploy`: publishes the restore instance's artifacts (scripts/artifacts.mjs) to the
// stack's bucket, so that a restore started from the console finds the binvault bundle it needs.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

class PublishArtifacts {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:deploy:deploy': () => this.publish() };
  }

  publish() {
    const service = this.serverless.service;
    const bucket = service.custom.bucketName;
    const prefix = service.provider.environment.BINVAULT_PREFIX;
    const region = service.provider.region;
    execFileSync('node', [join(__dirname, '..', '..', 'scripts', 'artifacts.mjs'), '--bucket', bucket, '--prefix', prefix, '--region', region], { stdio: 'inherit' });
  }
}

module.exports = PublishArtifacts;
