import dev.skytrain.Settings

/**
 * On a pull-request build: what merging would change in every environment, rendered
 * offline from this branch and from the target branch (no cluster credentials needed),
 * as markdown. Posted as a pull-request comment when the pipeline-github plugin's
 * `pullRequest` is there, otherwise archived as an artifact.
 */
def call(Map config = [:]) {
    Map settings = Settings.withDefaults(config)
    if (!env.CHANGE_ID) {
        echo 'skytrain: not a pull-request build; nothing to diff'
        return
    }
    String target = env.CHANGE_TARGET
    String report = "${settings.reportsDir}/diff.md"
    stage('Diff') {
        sh "git fetch --no-tags origin +refs/heads/${target}:refs/remotes/origin/${target}"
        String markdown = sh(
            script: "${Settings.command(settings, 'diff')} --all-envs --against origin/${target} --format markdown",
            returnStdout: true)
        writeFile file: report, text: markdown
        if (!comment(markdown)) {
            archiveArtifacts artifacts: report
        }
    }
}

private boolean comment(String markdown) {
    try {
        pullRequest.comment(markdown)
        return true
    } catch (MissingPropertyException ignored) {
        echo 'skytrain: no pullRequest step (pipeline-github plugin); the diff is archived instead'
        return false
    }
}
