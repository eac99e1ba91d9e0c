package dev.skytrain

/**
 * The options every skytrain step takes, with their defaults, in one place so that
 * skytrainPipeline, skytrainDeploy and skytrainDiff agree. See vars/*.txt for each.
 */
class Settings implements Serializable {
    static final Map DEFAULTS = [
        skytrain              : 'skytrain',            // the skytrain command on the agent
        serviceDir            : '.',                   // the folder holding deploy/
        reportsDir            : 'reports/skytrain',    // JUnit reports and the diff go here
        deployBranches        : ['master', 'main'],    // other branches validate only
        label                 : null,                  // agent label (null: any agent)
        approvalTimeoutMinutes: 1440,                  // an unanswered approval aborts the build after this
        approvers             : null,                  // who may approve (input's submitter), null: anyone
        // Jenkins credentials bound for a deploy; {env} becomes the environment's name.
        credentials           : [
            [type: 'file', id: 'skytrain-kubeconfig-{env}', variable: 'KUBECONFIG'],
            [type: 'usernamePassword', id: 'skytrain-marathon-{env}',
             usernameVariable: 'MARATHON_USER', passwordVariable: 'MARATHON_PASSWORD'],
        ],
    ]

    /** Options that name what to deploy rather than how (skytrainDeploy's). */
    static final List TARGET_OPTIONS = ['environment', 'stage', 'target']

    // Plain loops, no closures: library code runs CPS-transformed in Jenkins.
    static Map withDefaults(Map config) {
        List unknown = []
        for (String key in config.keySet()) {
            if (!DEFAULTS.containsKey(key) && !TARGET_OPTIONS.contains(key)) {
                unknown.add(key)
            }
        }
        if (unknown) {
            throw new IllegalArgumentException(
                "unknown skytrain option(s) ${unknown.sort()}; known: ${DEFAULTS.keySet().sort()}")
        }
        Map merged = new LinkedHashMap(DEFAULTS)
        merged.putAll(config)
        return merged
    }

    /** The command prefix, e.g. `skytrain pipeline run .`. */
    static String command(Map settings, String words) {
        return "${settings.skytrain} ${words} ${settings.serviceDir}"
    }
}
