# skytrain's make targets for a service repository. In the service's Makefile:
#
#     include Makefile.base.mk
#
# then `make help`. Every target runs one skytrain command; the environments are the
# deploy/<env>.yml files present, never a fixed list. Override any variable below on the
# command line (make deploy-k8s-staging SKYTRAIN=.venv/bin/skytrain) or in the Makefile
# before the include. This file ships with skytrain: `skytrain makefile > Makefile.base.mk`
# replaces a copy with the one of the skytrain installed.

# Where this file is: a service repository's root, or a skytrain checkout (its examples).
SKYTRAIN_BASE_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# The skytrain command (default: `skytrain` on PATH, else .venv/bin/skytrain of this repository).
SKYTRAIN_MISSING := skytrain is not installed here: install it (python3 -m venv .venv && .venv/bin/pip install skytrain, or pipx install skytrain), or point SKYTRAIN at it (make help SKYTRAIN=/path/to/skytrain)
ifeq ($(origin SKYTRAIN),undefined)
SKYTRAIN_FOUND := $(firstword $(shell command -v skytrain 2>/dev/null) $(wildcard $(CURDIR)/.venv/bin/skytrain $(SKYTRAIN_BASE_DIR)/.venv/bin/skytrain))
SKYTRAIN = $(or $(SKYTRAIN_FOUND),$(error $(SKYTRAIN_MISSING)))
else
SKYTRAIN_FOUND := $(SKYTRAIN)
endif
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

# Which scheduler each environment runs on (words such as `staging:kubernetes`), from
# deploy/*.yml, asked only when a goal needs it (help, deploy-*, rollback-*): other goals,
# such as the service's own build and test, never wait for skytrain.
ifneq ($(and $(SKYTRAIN_FOUND),$(filter help deploy-% rollback-%,$(MAKECMDGOALS))),)
SKYTRAIN_RUNS_ON := $(shell $(SKYTRAIN_FOUND) makefile --runs-on $(SKYTRAIN_SERVICE_DIR) 2>/dev/null)
endif
# $(1) runs on scheduler $(2); when that is unknown, every environment may run on every scheduler
skytrain_runs_on = $(if $(SKYTRAIN_RUNS_ON),$(filter $(1):$(2),$(SKYTRAIN_RUNS_ON)),$(1))
skytrain_environments_on = $(strip $(foreach env,$(SKYTRAIN_ENVIRONMENT_NAMES),$(if $(call skytrain_runs_on,$(env),$(1)),$(env))))
SKYTRAIN_MARATHON_ENVIRONMENTS := $(call skytrain_environments_on,marathon)
SKYTRAIN_KUBERNETES_ENVIRONMENTS := $(call skytrain_environments_on,kubernetes)

skytrain_kube_context = $(if $(K8S_CLUSTER_$(1)), --kube-context $(K8S_CLUSTER_$(1)))

.PHONY: help validate pipeline

help:
	@echo "make validate              check deploy/*.yml for every environment and scheduler (contacts nothing)"
	@echo "make render-<env>          write the Marathon app JSON and Kubernetes manifests to $(RENDER_DIR)/<env>"
	@echo "make diff-<env>            show what deploying <env> would change (DIFF_FLAGS=--against REF: offline)"
	$(if $(SKYTRAIN_MARATHON_ENVIRONMENTS),@echo "make deploy-<env>          deploy <env> on Marathon and wait for its health gate (rolls back on failure)")
	$(if $(SKYTRAIN_MARATHON_ENVIRONMENTS),@echo "make rollback-<env>        go back to the previous Marathon version of <env> (gated)")
	$(if $(SKYTRAIN_KUBERNETES_ENVIRONMENTS),@echo "make deploy-k8s-<env>      deploy <env> on Kubernetes and wait for its health gate (rolls back on failure)")
	$(if $(SKYTRAIN_KUBERNETES_ENVIRONMENTS),@echo "make rollback-k8s-<env>    go back to the previous Kubernetes revision of <env> (gated)")
	@echo "make status-<env>          what runs in <env> on every scheduler, and whether it is healthy"
	@echo "make pipeline              validate, then deploy stage by stage (skytrain pipeline run; PIPELINE_FLAGS)"
	$(if $(SKYTRAIN_FOUND),,@echo "($(SKYTRAIN_MISSING))")
	$(if $(and $(SKYTRAIN_FOUND),$(SKYTRAIN_ENVIRONMENT_NAMES),$(if $(SKYTRAIN_RUNS_ON),,x)),@echo "(every scheduler listed: $(DEPLOY_DIR)/*.yml do not say which applies until make validate passes)")
	$(if $(and $(SKYTRAIN_RUNS_ON),$(SKYTRAIN_MARATHON_ENVIRONMENTS)),@echo "on Marathon:   $(SKYTRAIN_MARATHON_ENVIRONMENTS)")
	$(if $(and $(SKYTRAIN_RUNS_ON),$(SKYTRAIN_KUBERNETES_ENVIRONMENTS)),@echo "on Kubernetes: $(SKYTRAIN_KUBERNETES_ENVIRONMENTS)")
	@echo "environments: $(or $(SKYTRAIN_ENVIRONMENT_NAMES),none (add $(DEPLOY_DIR)/<env>.yml))"

validate:
	$(SKYTRAIN) validate $(SKYTRAIN_ARGS)

pipeline:
	$(SKYTRAIN) pipeline run $(SKYTRAIN_ARGS) $(PIPELINE_FLAGS)

# One set of targets per environment file; a misspelt environment has no target at all.
define skytrain_environment_targets
.PHONY: render-$(1) diff-$(1) status-$(1)
render-$(1):
	$$(SKYTRAIN) render $$(SKYTRAIN_ARGS) --env $(1) -o $$(RENDER_DIR)/$(1)
diff-$(1):
	$$(SKYTRAIN) diff $$(SKYTRAIN_ARGS) --env $(1) $$(DIFF_FLAGS)
status-$(1):
	$$(SKYTRAIN) status $$(SKYTRAIN_ARGS) --env $(1)$$(call skytrain_kube_context,$(1))
endef

define skytrain_marathon_targets
.PHONY: deploy-$(1) rollback-$(1)
deploy-$(1):
	$$(SKYTRAIN) deploy $$(SKYTRAIN_ARGS) --env $(1) --target marathon
rollback-$(1):
	$$(SKYTRAIN) rollback $$(SKYTRAIN_ARGS) --env $(1) --target marathon
endef

define skytrain_kubernetes_targets
.PHONY: deploy-k8s-$(1) rollback-k8s-$(1)
deploy-k8s-$(1):
	$$(SKYTRAIN) deploy $$(SKYTRAIN_ARGS) --env $(1) --target kubernetes$$(call skytrain_kube_context,$(1))
rollback-k8s-$(1):
	$$(SKYTRAIN) rollback $$(SKYTRAIN_ARGS) --env $(1) --target kubernetes$$(call skytrain_kube_context,$(1))
endef

# A scheduler target of an environment that does not run there: said in make's words.
# $(1): the targets, $(2): the environment, $(3): the scheduler
define skytrain_not_there
.PHONY: $(1)
$(1):
	@echo "make $$@: this service does not run on $(3) in $(2) (scheduler: in $$(DEPLOY_DIR)/application.yml or $$(DEPLOY_DIR)/$(2).yml); make help lists the targets that apply" >&2; exit 2
endef

$(foreach env,$(SKYTRAIN_ENVIRONMENT_NAMES),$(eval $(call skytrain_environment_targets,$(env))))
$(foreach env,$(SKYTRAIN_ENVIRONMENT_NAMES),$(eval $(if $(filter $(env),$(SKYTRAIN_MARATHON_ENVIRONMENTS)),$(call skytrain_marathon_targets,$(env)),$(call skytrain_not_there,deploy-$(env) rollback-$(env),$(env),Marathon))))
$(foreach env,$(SKYTRAIN_ENVIRONMENT_NAMES),$(eval $(if $(filter $(env),$(SKYTRAIN_KUBERNETES_ENVIRONMENTS)),$(call skytrain_kubernetes_targets,$(env)),$(call skytrain_not_there,deploy-k8s-$(env) rollback-k8s-$(env),$(env),Kubernetes))))
