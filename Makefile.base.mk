# skytrain's make targets for a service repository. In the service's Makefile:
#
#     include Makefile.base.mk
#
# then `make help`. Every target runs one skytrain command; the environments are the
# deploy/<env>.yml files present, never a fixed list. Override any variable below on the
# command line (make deploy-k8s-staging SKYTRAIN=.venv/bin/skytrain) or in the Makefile
# before the include.

# The skytrain command.
SKYTRAIN ?= skytrain
# The folder holding application.yml and the overlays; skytrain is given the folder above it.
DEPLOY_DIR ?= deploy
# The platform team's environments file (empty: $SKYTRAIN_ENVIRONMENTS, else skytrain's search).
SKYTRAIN_ENVIRONMENTS ?=
# Kubernetes cluster (kube context) per environment, e.g. K8S_CLUSTER_staging = k8s-staging-2
# (empty: the context the environments file names).
# K8S_CLUSTER_<env> ?=
# Where render-<env> writes the scheduler objects.
RENDER_DIR ?= build/render
# Extra flags for diff-<env>, e.g. DIFF_FLAGS = --against origin/master for an offline diff.
DIFF_FLAGS ?=
# Extra flags for `make pipeline`, e.g. PIPELINE_FLAGS = --until staging, or --yes.
PIPELINE_FLAGS ?=

SKYTRAIN_SERVICE_DIR := $(patsubst %/,%,$(or $(dir $(patsubst %/,%,$(DEPLOY_DIR))),.))
SKYTRAIN_ENVIRONMENT_NAMES := $(sort $(filter-out application,$(basename $(notdir $(wildcard $(DEPLOY_DIR)/*.yml)))))
SKYTRAIN_ARGS := $(SKYTRAIN_SERVICE_DIR)$(if $(SKYTRAIN_ENVIRONMENTS), --environments $(SKYTRAIN_ENVIRONMENTS))

skytrain_kube_context = $(if $(K8S_CLUSTER_$(1)), --kube-context $(K8S_CLUSTER_$(1)))

.PHONY: help validate pipeline

help:
	@echo "make validate              check deploy/*.yml for every environment and scheduler (contacts nothing)"
	@echo "make render-<env>          write the Marathon app JSON and Kubernetes manifests to $(RENDER_DIR)/<env>"
	@echo "make diff-<env>            show what deploying <env> would change (DIFF_FLAGS=--against REF: offline)"
	@echo "make deploy-<env>          deploy <env> on Marathon and wait for its health gate (rolls back on failure)"
	@echo "make deploy-k8s-<env>      deploy <env> on Kubernetes and wait for its health gate (rolls back on failure)"
	@echo "make rollback-<env>        go back to the previous Marathon version of <env>, gated"
	@echo "make rollback-k8s-<env>    go back to the previous Kubernetes revision of <env>, gated"
	@echo "make status-<env>          what runs in <env> on every scheduler, and whether it is healthy"
	@echo "make pipeline              validate, then deploy stage by stage (skytrain pipeline run; PIPELINE_FLAGS)"
	@echo "environments: $(or $(SKYTRAIN_ENVIRONMENT_NAMES),none (add $(DEPLOY_DIR)/<env>.yml))"

validate:
	$(SKYTRAIN) validate $(SKYTRAIN_ARGS)

pipeline:
	$(SKYTRAIN) pipeline run $(SKYTRAIN_ARGS) $(PIPELINE_FLAGS)

# One set of targets per environment file; a misspelt environment has no target at all.
define skytrain_environment_targets
.PHONY: render-$(1) diff-$(1) deploy-$(1) deploy-k8s-$(1) rollback-$(1) rollback-k8s-$(1) status-$(1)
render-$(1):
	$$(SKYTRAIN) render $$(SKYTRAIN_ARGS) --env $(1) -o $$(RENDER_DIR)/$(1)
diff-$(1):
	$$(SKYTRAIN) diff $$(SKYTRAIN_ARGS) --env $(1) $$(DIFF_FLAGS)
deploy-$(1):
	$$(SKYTRAIN) deploy $$(SKYTRAIN_ARGS) --env $(1) --target marathon
deploy-k8s-$(1):
	$$(SKYTRAIN) deploy $$(SKYTRAIN_ARGS) --env $(1) --target kubernetes$$(call skytrain_kube_context,$(1))
rollback-$(1):
	$$(SKYTRAIN) rollback $$(SKYTRAIN_ARGS) --env $(1) --target marathon
rollback-k8s-$(1):
	$$(SKYTRAIN) rollback $$(SKYTRAIN_ARGS) --env $(1) --target kubernetes$$(call skytrain_kube_context,$(1))
status-$(1):
	$$(SKYTRAIN) status $$(SKYTRAIN_ARGS) --env $(1)$$(call skytrain_kube_context,$(1))
endef

$(foreach env,$(SKYTRAIN_ENVIRONMENT_NAMES),$(eval $(call skytrain_environment_targets,$(env))))
