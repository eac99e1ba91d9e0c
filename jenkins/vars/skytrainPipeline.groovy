import dev.skytrain.Settings
import groovy.json.JsonSlurperClassic

/**
 * A service's whole deploy pipeline, read from its deploy/application.yml through
 * `skytrain pipeline show --format json`: one Jenkins stage per pipeline stage, an input
 * step before each stage that needs approval, JUnit reports, and milestones plus a lock
 * per service so that two builds never deploy at once and an older build never deploys
 * after a newer one. A pull-request build diffs and validates; it never deploys.
 */
def call(Map config = [:]) {
    Map settings = Settings.withDefaults(config)
    node(settings.label) {
        stage('Checkout') {
            checkout scm
        }
        if (env.CHANGE_ID) {
            skytrainDiff(config)
            validate(settings)
            return
        }
        Map shown = new JsonSlurperClassic().parseText(
            sh(script: Settings.command(settings, 'pipeline show') + ' --format json', returnStdout: true))
        validate(settings)
        if (!(env.BRANCH_NAME in settings.deployBranches)) {
            echo "skytrain: ${env.BRANCH_NAME} is not a deploy branch (${settings.deployBranches.join(', ')}); validated only"
            return
        }
        milestone(label: 'validated')
        for (Map step in shown.stages) {
            if (step.kind != 'deploy') {
                continue
            }
            if (step.approval) {
                approve(settings, shown.service, step.name)
            }
            stage("Deploy ${step.name}") {
                lock(resource: "skytrain-${shown.service}", inversePrecedence: true) {
                    milestone(label: "deploying ${step.name}")
                    skytrainDeploy(config + [stage: step.name])
                }
            }
        }
    }
}

private void validate(Map settings) {
    stage('Validate') {
        String report = "${settings.reportsDir}/validate.xml"
        try {
            sh "${Settings.command(settings, 'pipeline run')} --until validate --junit ${report}"
        } finally {
            junit testResults: report, allowEmptyResults: true
        }
    }
}

private void approve(Map settings, String service, String environment) {
    stage("Approve ${environment}") {
        milestone(label: "approving ${environment}")
        try {
            timeout(time: settings.approvalTimeoutMinutes, unit: 'MINUTES') {
                Map parameters = [message: "Deploy ${service} to ${environment}?", ok: "Deploy to ${environment}"]
                if (settings.approvers) {
                    parameters.submitter = settings.approvers
                }
                input(parameters)
            }
        } catch (err) {
            echo "skytrain: ${environment} was not approved; nothing was deployed to ${environment} or later"
            currentBuild.result = 'ABORTED'
            throw err
        }
        milestone(label: "approved ${environment}")
    }
}
