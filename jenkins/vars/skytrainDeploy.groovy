import dev.skytrain.Settings

/**
 * Deploy one environment, gated, with the environment's credentials bound and a JUnit
 * report recorded whether it passed or not.
 *   skytrainDeploy(stage: 'staging')                          // that pipeline stage (its targets, gate, rollback)
 *   skytrainDeploy(environment: 'staging', target: 'kubernetes')   // a plain `skytrain deploy`
 */
def call(Map config = [:]) {
    Map settings = Settings.withDefaults(config)
    String environment = settings.stage ?: settings.environment
    if (!environment) {
        error 'skytrainDeploy needs stage: (a pipeline stage) or environment: (one environment)'
    }
    String report = "${settings.reportsDir}/${environment}.xml"
    String script = settings.stage
        ? "${Settings.command(settings, 'pipeline run')} --from ${environment} --until ${environment} --yes"
        : "${Settings.command(settings, 'deploy')} --env ${environment}" + (settings.target ? " --target ${settings.target}" : '')
    withCredentials(bindings(settings.credentials, environment)) {
        try {
            sh "${script} --junit ${report}"
        } finally {
            junit testResults: report, allowEmptyResults: true
        }
    }
}

private List bindings(List credentials, String environment) {
    List out = []
    for (Map credential in credentials) {
        Map options = new LinkedHashMap(credential)
        options.remove('type')
        options.remove('id')
        options.credentialsId = credential.id.replace('{env}', environment)
        if (credential.type == 'file') {
            out.add(file(options))
        } else if (credential.type == 'string') {
            out.add(string(options))
        } else if (credential.type == 'usernamePassword') {
            out.add(usernamePassword(options))
        } else {
            error "skytrain: unknown credential type '${credential.type}'; use file, string or usernamePassword"
        }
    }
    return out
}
