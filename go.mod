module scorecmdline

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/go-viper/mapstructure/v2 v2.5.0
)

require go.yaml.in/yaml/v3 v3.0.6
