# syntax=docker/dockerfile:1
# The kvsweep worker of a GPU host (docker-compose.yml's kvsweep-worker service): Node 20 running
# `node bin/kvsweep.js worker --gpus auto` beside the inference server it starts for each
# experiment. The worker spawns `vllm serve` (configs/environments.yaml), so the image is vLLM's
# own with Node added; LMCache is installed for the default `lmcache` environment.
#
#   docker build -f docker/worker.Dockerfile -t kvsweep-worker .
#   --build-arg VLLM_IMAGE=...        another vLLM image (it must have python3 -m pip and vllm)
#   --build-arg LMCACHE_VERSION=...   the LMCache release that matches that vLLM's torch ('' = none)
#
# Not built on kvsweep's development machines (no Docker engine there): the vLLM/LMCache pair
# below is the default to check on a first build; docs/deployment.md says what to change.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG VLLM_IMAGE=vllm/vllm-openai:v0.32.0

# Stage 1: kvsweep and its production dependencies, installed exactly as package-lock.json says.
FROM ${NODE_IMAGE} AS app
WORKDIR /opt/kvsweep
# The worker needs no Temporal CLI (that is for the embedded dev server): skip its provisioning.
ENV KVSWEEP_SKIP_TEMPORAL_PROVISION=1
COPY package.json package-lock.json ./
COPY scripts/provision-temporal.mjs scripts/
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY bin bin
COPY configs configs
COPY domain domain
COPY platform platform
COPY config-files config-files
COPY client client
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY simulator simulator
COPY loadgen loadgen
COPY report report
COPY offline offline

# Stage 2: vLLM's image with Node and kvsweep added.
FROM ${VLLM_IMAGE}
ARG LMCACHE_VERSION=0.5.6
RUN if [ -n "${LMCACHE_VERSION}" ]; then python3 -m pip install --no-cache-dir "lmcache==${LMCACHE_VERSION}"; fi
COPY --from=app /usr/local/bin/node /usr/local/bin/node
COPY --from=app /opt/kvsweep /opt/kvsweep
WORKDIR /opt/kvsweep
ENV NODE_ENV=production \
    KVSWEEP_HOME=/var/lib/kvsweep \
    PYTHONUNBUFFERED=1
# vLLM's image starts `vllm serve` by default; this one starts the worker, which starts vLLM.
ENTRYPOINT []
# SIGTERM lets the worker stop its servers (SIGTERM, then SIGKILL after --teardown-grace).
STOPSIGNAL SIGTERM
CMD ["node", "bin/kvsweep.js", "worker", "--gpus", "auto"]
